// What was built: the project version and the git revision it was built
// from, for --version and for monitoring. One home for both; the values come
// from a source file written at build time (cmake/BuildInfo.cmake), so this
// header never changes and only the targets that link ksef_build_info are
// rebuilt when HEAD moves.
#ifndef KSEF_COMMON_BUILD_INFO_H_
#define KSEF_COMMON_BUILD_INFO_H_

#include <string>
#include <string_view>

namespace ksef::build_info {

// The project version, CMake's project(VERSION), e.g. "0.1.0".
std::string_view Version();

// `git describe --always --dirty` of the source tree when it was built, e.g.
// "ff4ec20" or "ff4ec20-dirty"; "unknown" when the sources were not a git
// checkout (a tarball) or git was missing. Only [A-Za-z0-9._+-] characters.
std::string_view GitRevision();

// The line --version prints: "<program> <version> (git <revision>)", e.g.
// "ksef-hsmd 0.1.0 (git ff4ec20)". No trailing newline.
std::string VersionLine(std::string_view program);

}  // namespace ksef::build_info

#endif  // KSEF_COMMON_BUILD_INFO_H_
