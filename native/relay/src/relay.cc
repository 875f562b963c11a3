// The engine's sockets: opening and closing them, their libuv polls, sends on behalf of JavaScript, the
// counters and shutdown. Allocations and channels are in allocations.cc, the forwarding in batch_io.cc.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"
#include "relay_internal.h"

namespace pinhole {

namespace {

void onPoll(uv_poll_t* handle, int status, int events) {
  auto* socket = static_cast<Socket*>(handle->data);
  if (status < 0 || !(events & UV_READABLE) || socket->closing) return;
  socket->engine->onReadable(socket);
}

void onClosed(uv_handle_t* handle) {
  auto* socket = static_cast<Socket*>(handle->data);
  close(socket->fd);
  delete socket;
}

}  // namespace

uint64_t nowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

Engine::Engine(uv_loop_t* loop, Deliver deliver, void* context)
    : loop_(loop), deliver_(deliver), context_(context), buffers_(kSlot * kBatch) {
  unhandled_.reserve(kBatch);
}

Engine::~Engine() { closeAll(); }

int64_t Engine::addSocket(Kind kind, int fd) {
  auto* socket = new Socket();
  socket->kind = kind;
  socket->id = nextSocketId_++;
  socket->fd = fd;
  sockaddr_storage local{};
  socklen_t localLen = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &localLen) == 0) socket->family = local.ss_family;
  socket->engine = this;
  socket->poll.data = socket;
  int rc = uv_poll_init_socket(loop_, &socket->poll, fd);
  if (rc == 0) rc = uv_poll_start(&socket->poll, UV_READABLE, onPoll);
  if (rc != 0) {
    close(fd);
    delete socket;
    return rc;  // libuv errors are negative errno values on Unix
  }
  sockets_[socket->id] = socket;
  return socket->id;
}

static int openUdp(const sockaddr_storage& addr, socklen_t len, bool reusePort, int bufferBytes) {
  int fd = ::socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  int zero = 0;
  // Node's udp6 sockets are dual-stack; keep the same behaviour.
  if (addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (reusePort && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  if (bufferBytes > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufferBytes, sizeof bufferBytes);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufferBytes, sizeof bufferBytes);
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

int64_t Engine::openListener(const sockaddr_storage& addr, socklen_t len, bool reusePort, int bufferBytes) {
  int fd = openUdp(addr, len, reusePort, bufferBytes);
  return fd < 0 ? fd : addSocket(Kind::Listener, fd);
}

int64_t Engine::openRelay(const sockaddr_storage& addr, socklen_t len, int bufferBytes) {
  int fd = openUdp(addr, len, false, bufferBytes);
  return fd < 0 ? fd : addSocket(Kind::Relay, fd);
}

int Engine::localPort(uint32_t socketId) const {
  auto it = sockets_.find(socketId);
  if (it == sockets_.end()) return -1;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(it->second->fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  return ntohs(keyOf(addr).port);
}

void Engine::closeSocket(uint32_t socketId) {
  auto it = sockets_.find(socketId);
  if (it == sockets_.end()) return;
  Socket* socket = it->second;
  sockets_.erase(it);
  // Allocations lose their path through this socket: their datagrams go to JS (which drops them) again.
  if (socket->alloc) detach(socket->alloc);
  std::vector<Allocation*> clients;
  for (auto& entry : socket->clients) clients.push_back(entry.second);
  for (Allocation* alloc : clients) detach(alloc);
  socket->closing = true;
  uv_poll_stop(&socket->poll);
  // The fd and memory go in the close callback: a read loop on this socket may still be on the stack.
  uv_close(reinterpret_cast<uv_handle_t*>(&socket->poll), onClosed);
}

bool Engine::send(uint32_t socketId, const uint8_t* data, size_t length, const sockaddr_storage& to,
                  socklen_t toLen) {
  auto it = sockets_.find(socketId);
  if (it == sockets_.end()) return false;
  sockaddr_storage target = to;
  socklen_t targetLen = toLen;
  // An IPv4 destination on a dual-stack IPv6 socket: the v4-mapped form.
  if (to.ss_family == AF_INET && it->second->family == AF_INET6) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&to);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&target);
    memset(&target, 0, sizeof target);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = in->sin_port;
    in6->sin6_addr.s6_addr[10] = 0xff;
    in6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&in6->sin6_addr.s6_addr[12], &in->sin_addr, 4);
    targetLen = sizeof(sockaddr_in6);
  }
  ssize_t sent = sendto(it->second->fd, data, length, 0, reinterpret_cast<const sockaddr*>(&target), targetLen);
  if (sent < 0) {
    counters_[kSendErrors] += 1;
    return false;
  }
  return true;
}

void Engine::takeCounters(double out[kCounterCount]) {
  for (int i = 0; i < kCounterCount; i++) {
    out[i] = counters_[i];
    counters_[i] = 0;
  }
}

void Engine::closeAll() {
  std::vector<uint32_t> ids;
  for (auto& entry : allocs_) ids.push_back(entry.first);
  for (uint32_t id : ids) freeAllocation(id);
  ids.clear();
  for (auto& entry : sockets_) ids.push_back(entry.first);
  for (uint32_t id : ids) closeSocket(id);
}

}  // namespace pinhole
