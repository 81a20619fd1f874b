# Fixture table: the real one, plus one known violation (self_test.cmake).
include(${CMAKE_CURRENT_LIST_DIR}/../../../cmake/layers.cmake)
ksef_known_violation(pkcs11/token.cc service/key_service.h)
