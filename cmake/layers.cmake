# The layers (docs/architecture.md): which folder may include which.
#
# Read by the layer check (cmake/CheckLayers.cmake; ctest -L layers) and by
# the include views of cmake/KsefTargets.cmake (the known violations only).
#
#   ksef_layer(<folder> <folders it may include>...)
#
# A folder may always include itself. A path belongs to the longest folder
# of this table that holds it: client/cli/args.cc to client/cli,
# formats/qr/links.cc to formats, tests/e2e/x.cc to tests.
# Includes of "ksef/hsm/v1/..." and "grpc/health/v1/..." are the generated
# proto layer; other first components (absl/, gtest/, grpcpp/, openssl/...)
# are third party and not checked.
#
# Besides the table, for every file:
#   - <folder>/internal/ headers: only files under <folder> (and so its own
#     tests) may include them, and a public header may not (its users could
#     not compile it: they do not see <folder>/internal/);
#   - test-only headers (in a testing/ folder, or *_testing.h): only test
#     code may include them;
#   - test code (tests/, testing/ folders, *_test.cc, *_test_util.h,
#     *_testing.h) may also include tests/ (tests/support), and the
#     test-only library <folder>/testing of a folder it may include
#     (client/cli/cli_test.cc: client/testing/fake_server.h).

macro(ksef_layer folder)
  list(APPEND KSEF_LAYER_FOLDERS ${folder})
  set(KSEF_LAYER_DEPS_${folder} ${ARGN})
endmacro()
macro(ksef_known_violation file_prefix header_prefix)
  list(APPEND KSEF_KNOWN_VIOLATIONS "${file_prefix}|${header_prefix}")
endmacro()
set(KSEF_LAYER_FOLDERS "")
set(KSEF_KNOWN_VIOLATIONS "")

# Bottom to top.
ksef_layer(common)
ksef_layer(lifecycle)
ksef_layer(crypto         common)
ksef_layer(xml            common)
ksef_layer(pkcs11         common crypto)
ksef_layer(formats        common crypto xml)
ksef_layer(pg             common)
ksef_layer(audit          common crypto xml pkcs11 formats pg)
ksef_layer(metrics        common crypto)
ksef_layer(service        common lifecycle crypto xml pkcs11 formats pg audit metrics proto)
ksef_layer(proto)
ksef_layer(client         common proto)
ksef_layer(client/cli     common crypto xml formats audit proto client)
ksef_layer(client/testing common lifecycle proto client)
ksef_layer(tests          common lifecycle crypto xml pkcs11 formats pg audit metrics service proto
                          client client/cli client/testing)
ksef_layer(bench          common crypto xml pkcs11 formats pg audit proto tests)

# Scanned by nobody: the deliberately wrong fixtures of the check's own test.
set(KSEF_LAYER_CHECK_SKIP tests/layers)

# Known violations: none. A layering break that cannot be fixed in the same
# change is listed here, with the reason, until it is:
#   ksef_known_violation(<file path prefix> <header path prefix>)
# The check notes an entry that no longer matches anything.
