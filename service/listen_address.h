// The listen address belongs to one process: checked before the server
// opens the token or its stores, so a second ksef-hsmd started on an address
// already in use stops at once, without touching shared state, instead of
// taking a share of the connections (gRPC sets SO_REUSEPORT by default on
// Linux, where two sockets with it may bind one address).
//
// CheckListenAddressFree binds a probe socket to every address the host
// resolves to, the way gRPC will (SO_REUSEADDR, so connections in TIME_WAIT
// do not count; SO_REUSEPORT only when `reuse_port`), and closes it again.
// FAILED_PRECONDITION (ListenAddressInUse) when one is taken; OK when the
// address is free, has port 0, or cannot be probed (gRPC's own bind then
// reports what is wrong). A program binding the address between the probe
// and gRPC's bind is caught there: the server reports ListenAddressInUse
// when gRPC fails to bind and the probe then finds the address taken.
#ifndef KSEF_SERVICE_LISTEN_ADDRESS_H_
#define KSEF_SERVICE_LISTEN_ADDRESS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ksef::service {

absl::Status CheckListenAddressFree(absl::string_view host_port, bool reuse_port);

// FAILED_PRECONDITION: "listen_address 127.0.0.1:7443 is already in use: is
// another ksef-hsmd or another program listening on it? ..."
absl::Status ListenAddressInUse(absl::string_view host_port);

}  // namespace ksef::service

#endif  // KSEF_SERVICE_LISTEN_ADDRESS_H_
