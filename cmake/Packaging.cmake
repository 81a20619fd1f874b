# The Debian package ksef-hsm: `cpack -G DEB` in the build tree (or the
# target ksef_deb) writes <build>/ksef-hsm_<version>-<release>_<arch>.deb.
# The files it adds to the install rules of the binaries and man pages are
# in packaging/ (docs/operations.md, "Installing the package"):
#
#   /usr/sbin/ksef-hsmd, /usr/bin/ksef-hsm, their man pages   (default component)
#   /usr/share/doc/ksef-hsm/*.md                                (default component)
#   /lib/systemd/system/ksef-hsmd.service                       packaging/ksef-hsmd.service
#   /usr/lib/sysusers.d/ksef-hsm.conf                           the system user
#   /usr/lib/tmpfiles.d/ksef-hsm.conf                           /var/lib/ksef-hsm
#   /etc/ksef-hsm/{ksef-hsmd,softhsm2,policy}.conf              conffiles
#   /usr/share/doc/ksef-hsm/{copyright,changelog.Debian.gz}
#   /usr/share/lintian/overrides/ksef-hsm                       each override justified
#
# Those package-only files are the install component "deb", EXCLUDE_FROM_ALL:
# `cmake --install build --prefix .local` (scripts/build.sh) never writes to
# /etc or /lib; CPack installs both components into the package.
#
#   -DKSEF_DEB_MAINTAINER="Name <address>"  the Maintainer field and the
#                                           changelog's trailer line
#   -DKSEF_DEB_RELEASE=1                    the Debian revision
set(KSEF_DEB_MAINTAINER "ksef-hsm maintainers <ksef-hsm@example.invalid>"
    CACHE STRING "Maintainer of the Debian package (Name <address>)")
set(KSEF_DEB_RELEASE 1 CACHE STRING "Debian revision of the package")
set(KSEF_DEB_VERSION ${PROJECT_VERSION}-${KSEF_DEB_RELEASE})

set(_pkg ${PROJECT_SOURCE_DIR}/packaging)
set(_pkg_out ${PROJECT_BINARY_DIR}/packaging)

# The changelog names the version it describes: one that does not match the
# package's would ship a false history.
file(STRINGS ${_pkg}/changelog.Debian.in _changelog_head LIMIT_COUNT 1)
if(NOT _changelog_head MATCHES "^ksef-hsm \\(${KSEF_DEB_VERSION}\\) ")
  message(FATAL_ERROR "packaging/changelog.Debian.in starts with '${_changelog_head}', "
                      "but the package version is ${KSEF_DEB_VERSION} (project VERSION "
                      "${PROJECT_VERSION}, KSEF_DEB_RELEASE ${KSEF_DEB_RELEASE}): add an "
                      "entry for ${KSEF_DEB_VERSION} at its top")
endif()
configure_file(${_pkg}/changelog.Debian.in ${_pkg_out}/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${_pkg_out}/changelog.Debian.gz
  COMMAND ${KSEF_GZIP} -9nkf ${_pkg_out}/changelog.Debian
  DEPENDS ${_pkg_out}/changelog.Debian ${_pkg}/changelog.Debian.in
  VERBATIM)
add_custom_target(ksef_deb_changelog ALL DEPENDS ${_pkg_out}/changelog.Debian.gz)

# Documentation for operators (default component: also in a plain install).
install(FILES ${PROJECT_SOURCE_DIR}/docs/configuration.md ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/security.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Package-only files (component deb).
set(_deb COMPONENT deb EXCLUDE_FROM_ALL)
set(KSEF_DEB_CONFFILES /etc/ksef-hsm/ksef-hsmd.conf /etc/ksef-hsm/softhsm2.conf
                       /etc/ksef-hsm/policy.conf)
install(FILES ${_pkg}/ksef-hsmd.conf ${_pkg}/softhsm2.conf ${_pkg}/policy.conf
        DESTINATION /etc/ksef-hsm PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ ${_deb})
install(FILES ${_pkg}/ksef-hsmd.service DESTINATION /lib/systemd/system ${_deb})
install(FILES ${_pkg}/sysusers.conf DESTINATION /usr/lib/sysusers.d RENAME ksef-hsm.conf ${_deb})
install(FILES ${_pkg}/tmpfiles.conf DESTINATION /usr/lib/tmpfiles.d RENAME ksef-hsm.conf ${_deb})
install(FILES ${_pkg}/copyright ${_pkg_out}/changelog.Debian.gz
        DESTINATION /usr/share/doc/ksef-hsm ${_deb})
install(FILES ${_pkg}/lintian-overrides DESTINATION /usr/share/lintian/overrides
        RENAME ksef-hsm ${_deb})

# The conffiles list, from the one list above.
list(JOIN KSEF_DEB_CONFFILES "\n" _conffiles)
file(WRITE ${_pkg_out}/conffiles "${_conffiles}\n")

# The shipped programs resolve every symbol at start-up and map the GOT
# read-only (full RELRO; lintian: hardening-no-bindnow).
foreach(program ksef-hsmd ksef-hsm)
  target_link_options(${program} PRIVATE -Wl,-z,relro -Wl,-z,now)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ksef-hsm)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${KSEF_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_CMAKE_PROJECTS
    "${PROJECT_BINARY_DIR};ksef-hsm;Unspecified;/"
    "${PROJECT_BINARY_DIR};ksef-hsm;deb;/")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${KSEF_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${KSEF_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "HSM-backed signing service for KSeF 2.0")
# The first line of the Description field is the summary; CPack indents the
# body and writes its empty line as " .".
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "ksef-hsmd keeps the keys used with KSeF (Poland's National e-Invoice
System) in a PKCS#11 HSM and signs with them over gRPC with mutual TLS:
KSeF authentication requests (XAdES), KOD II links of offline invoices and
certificate requests, under a per-caller access policy, with a
tamper-evident audit log signed in the HSM.

The package holds the daemon with a hardened systemd unit (not enabled
until it is configured), its system user, and the ksef-hsm client.")
# Depends: what the binaries link (dpkg-shlibdeps), and what creates the
# system user and the state directory in postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "systemd | systemd-standalone-sysusers | systemd-sysusers")
# The default token; a hardware HSM's module replaces it.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS softhsm2)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${_pkg_out}/conffiles;${_pkg}/postinst;${_pkg}/prerm;${_pkg}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
