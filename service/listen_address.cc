#include "service/listen_address.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"
#include "service/config.h"

namespace ksef::service {
namespace {

struct AddrInfoFree {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoFree>;

// errno of binding one probe socket to `address` (0 when it binds).
int ProbeBind(const addrinfo& address, bool reuse_port) {
  UniqueFd fd(::socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC, address.ai_protocol));
  if (!fd.valid()) return 0;  // cannot probe: leave it to gRPC
  const int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (reuse_port) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  return ::bind(fd.get(), address.ai_addr, address.ai_addrlen) == 0 ? 0 : errno;
}

}  // namespace

absl::Status ListenAddressInUse(absl::string_view host_port) {
  return absl::FailedPreconditionError(absl::StrCat(
      "listen_address ", host_port,
      " is already in use: is another ksef-hsmd or another program listening on it? Stop it or "
      "choose another listen_address (check with: ss -ltnp)"));
}

absl::Status CheckListenAddressFree(absl::string_view host_port, bool reuse_port) {
  absl::string_view host, port;
  if (!SplitHostPort(host_port, &host, &port) || port == "0") return absl::OkStatus();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(std::string(host).c_str(), std::string(port).c_str(), &hints, &found) != 0) {
    return absl::OkStatus();  // gRPC reports a host it cannot resolve
  }
  AddrInfoPtr addresses(found);
  for (const addrinfo* a = addresses.get(); a != nullptr; a = a->ai_next) {
    if (ProbeBind(*a, reuse_port) == EADDRINUSE) return ListenAddressInUse(host_port);
  }
  return absl::OkStatus();
}

}  // namespace ksef::service
