// Fixture of the layer check self-test (tests/layers/self_test.cmake).
#include "absl/strings/string_view.h"
