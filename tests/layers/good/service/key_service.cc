// Fixture: the service sees the generated proto layer and everything below it.
#include "ksef/hsm/v1/key_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "pkcs11/key_store.h"
#include "lifecycle/transitions.h"
