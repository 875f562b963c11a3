#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

namespace pinhole {

namespace {

// Datagrams read per recvmmsg, and batches read per wake-up before yielding to the rest of the loop.
constexpr int kBatch = 32;
constexpr int kBatchesPerWake = 8;
// Room for the largest datagram plus the 4-byte ChannelData header we prepend towards clients.
constexpr size_t kHeader = 4;
constexpr size_t kSlot = 65536 + 8;
constexpr uint16_t kChannelMin = 0x4000;
constexpr uint16_t kChannelMax = 0x7fff;

AddrKey keyOf(const sockaddr_storage& addr) {
  AddrKey key{};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    key.ip[10] = 0xff;
    key.ip[11] = 0xff;
    memcpy(key.ip + 12, &in->sin_addr, 4);
    key.port = in->sin_port;
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    memcpy(key.ip, &in6->sin6_addr, 16);
    key.port = in6->sin6_port;
  }
  return key;
}

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

/** RFC 8656 §12.5: ChannelData as TurnCore accepts it over UDP (trailing padding allowed, nothing more). */
bool channelDataLength(const uint8_t* data, size_t length, uint16_t* number, size_t* payload) {
  if (length < kHeader) return false;
  *number = static_cast<uint16_t>((data[0] << 8) | data[1]);
  if (*number < kChannelMin || *number > kChannelMax) return false;
  size_t total = kHeader + ((static_cast<size_t>(data[2]) << 8) | data[3]);
  size_t padded = (total + 3) & ~static_cast<size_t>(3);
  if (length < total || length > padded) return false;
  *payload = total - kHeader;
  return true;
}

}  // namespace

uint64_t nowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

bool AddrKey::operator==(const AddrKey& other) const {
  return port == other.port && memcmp(ip, other.ip, 16) == 0;
}

size_t AddrKeyHash::operator()(const AddrKey& key) const {
  uint64_t a;
  uint64_t b;
  memcpy(&a, key.ip, 8);
  memcpy(&b, key.ip + 8, 8);
  uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + key.port) * 0xc2b2ae3d27d4eb4fULL;
  return static_cast<size_t>(h ^ (h >> 29));
}

bool Allocation::take(uint64_t now, size_t bytes) {
  if (rate <= 0) return true;
  if (now > lastMs) {
    tokens += static_cast<double>(now - lastMs) * rate / 1000.0;
    if (tokens > rate) tokens = rate;
    lastMs = now;
  }
  if (tokens < static_cast<double>(bytes)) return false;
  tokens -= static_cast<double>(bytes);
  return true;
}

const Channel* Allocation::byNumber(uint16_t number, uint64_t now) const {
  for (const Channel& c : channels)
    if (c.number == number) return c.deadlineMs > now ? &c : nullptr;
  return nullptr;
}

const Channel* Allocation::byPeer(const sockaddr_in& peer, uint64_t now) const {
  for (const Channel& c : channels) {
    if (c.peer.sin_port == peer.sin_port && c.peer.sin_addr.s_addr == peer.sin_addr.s_addr)
      return c.deadlineMs > now ? &c : nullptr;
  }
  return nullptr;
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

void Engine::detach(Allocation* alloc) {
  if (alloc->listener) alloc->listener->clients.erase(alloc->clientKey);
  if (alloc->relay) alloc->relay->alloc = nullptr;
  alloc->listener = nullptr;
  alloc->relay = nullptr;
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

void Engine::allocate(uint32_t allocId, double bytesPerSecond) {
  auto* alloc = allocs_[allocId];
  if (!alloc) alloc = allocs_[allocId] = new Allocation();
  alloc->id = allocId;
  alloc->rate = bytesPerSecond;
  alloc->tokens = bytesPerSecond;  // a bucket starts full, as TokenBucket does
  alloc->lastMs = nowMs();
}

bool Engine::attach(uint32_t allocId, uint32_t relayId, uint32_t listenerId, const sockaddr_storage& client,
                    socklen_t clientLen) {
  auto a = allocs_.find(allocId);
  auto r = sockets_.find(relayId);
  auto l = sockets_.find(listenerId);
  if (a == allocs_.end() || r == sockets_.end() || l == sockets_.end()) return false;
  if (r->second->kind != Kind::Relay || l->second->kind != Kind::Listener) return false;
  Allocation* alloc = a->second;
  detach(alloc);
  alloc->relay = r->second;
  alloc->listener = l->second;
  alloc->client = client;
  alloc->clientLen = clientLen;
  alloc->clientKey = keyOf(client);
  r->second->alloc = alloc;
  l->second->clients[alloc->clientKey] = alloc;
  return true;
}

bool Engine::take(uint32_t allocId, size_t bytes) {
  auto a = allocs_.find(allocId);
  return a == allocs_.end() || a->second->take(nowMs(), bytes);
}

bool Engine::setChannel(uint32_t allocId, uint16_t number, const sockaddr_in& peer, uint64_t ttlMs) {
  auto a = allocs_.find(allocId);
  if (a == allocs_.end()) return false;
  uint64_t deadline = nowMs() + ttlMs;
  for (Channel& c : a->second->channels) {
    if (c.number == number) {
      c.peer = peer;
      c.deadlineMs = deadline;
      return true;
    }
  }
  a->second->channels.push_back(Channel{number, peer, deadline});
  return true;
}

void Engine::removeChannel(uint32_t allocId, uint16_t number) {
  auto a = allocs_.find(allocId);
  if (a == allocs_.end()) return;
  auto& channels = a->second->channels;
  for (size_t i = 0; i < channels.size(); i++) {
    if (channels[i].number == number) {
      channels.erase(channels.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
}

void Engine::freeAllocation(uint32_t allocId) {
  auto a = allocs_.find(allocId);
  if (a == allocs_.end()) return;
  Allocation* alloc = a->second;
  allocs_.erase(a);
  uint32_t relayId = alloc->relay ? alloc->relay->id : 0;
  detach(alloc);
  delete alloc;
  if (relayId) closeSocket(relayId);
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

void Engine::onReadable(Socket* socket) {
  if (socket->kind == Kind::Listener)
    readListener(socket);
  else
    readRelay(socket);
}

// ---- client → peer ---------------------------------------------------------------------------------

void Engine::readListener(Socket* socket) {
  mmsghdr in[kBatch];
  iovec inIov[kBatch];
  sockaddr_storage from[kBatch];
  mmsghdr out[kBatch];
  iovec outIov[kBatch];
  int outFd[kBatch];
  for (int batch = 0; batch < kBatchesPerWake && !socket->closing; batch++) {
    for (int i = 0; i < kBatch; i++) {
      inIov[i] = {buffers_.data() + i * kSlot, kSlot};
      in[i].msg_hdr = msghdr{&from[i], sizeof from[i], &inIov[i], 1, nullptr, 0, 0};
      in[i].msg_len = 0;
    }
    int n = recvmmsg(socket->fd, in, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    counters_[kBatches] += 1;
    uint64_t now = nowMs();
    int outCount = 0;
    unhandled_.clear();
    for (int i = 0; i < n; i++) {
      const uint8_t* data = static_cast<const uint8_t*>(inIov[i].iov_base);
      size_t length = in[i].msg_len;
      uint16_t number;
      size_t payload;
      // RFC 8656 §12: the first two bits 01 mark ChannelData; everything else is for the TURN core.
      if (channelDataLength(data, length, &number, &payload) && !(in[i].msg_hdr.msg_flags & MSG_TRUNC)) {
        auto found = socket->clients.find(keyOf(from[i]));
        const Channel* channel =
            found == socket->clients.end() || !found->second->relay ? nullptr : found->second->byNumber(number, now);
        if (channel) {
          Allocation* alloc = found->second;
          if (!alloc->take(now, payload)) {
            counters_[kBandwidthDropsClient] += 1;
            continue;
          }
          counters_[kClientToPeerPackets] += 1;
          counters_[kClientToPeerBytes] += static_cast<double>(payload);
          outIov[outCount] = {const_cast<uint8_t*>(data) + kHeader, payload};
          out[outCount].msg_hdr = msghdr{const_cast<sockaddr_in*>(&channel->peer), sizeof(sockaddr_in),
                                         &outIov[outCount], 1, nullptr, 0, 0};
          outFd[outCount] = alloc->relay->fd;
          outCount++;
          continue;
        }
      }
      unhandled_.push_back(Unhandled{data, length, &from[i]});
    }
    // Consecutive datagrams for the same relay socket leave in one sendmmsg.
    for (int start = 0; start < outCount;) {
      int end = start + 1;
      while (end < outCount && outFd[end] == outFd[start]) end++;
      int sent = sendmmsg(outFd[start], out + start, end - start, MSG_DONTWAIT);
      int count = end - start;
      if (sent < count) counters_[kSendErrors] += count - (sent < 0 ? 0 : sent);
      start = end;
    }
    if (!unhandled_.empty()) deliver_(context_, socket->id, unhandled_);
    if (n < kBatch) return;
  }
}

// ---- peer → client ---------------------------------------------------------------------------------

void Engine::readRelay(Socket* socket) {
  mmsghdr in[kBatch];
  iovec inIov[kBatch];
  sockaddr_storage from[kBatch];
  mmsghdr out[kBatch];
  iovec outIov[kBatch];
  for (int batch = 0; batch < kBatchesPerWake && !socket->closing; batch++) {
    for (int i = 0; i < kBatch; i++) {
      // Read past a 4-byte gap so the ChannelData header goes in front without a copy.
      inIov[i] = {buffers_.data() + i * kSlot + kHeader, kSlot - kHeader};
      in[i].msg_hdr = msghdr{&from[i], sizeof from[i], &inIov[i], 1, nullptr, 0, 0};
      in[i].msg_len = 0;
    }
    int n = recvmmsg(socket->fd, in, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    counters_[kBatches] += 1;
    uint64_t now = nowMs();
    Allocation* alloc = socket->alloc;
    int outCount = 0;
    unhandled_.clear();
    for (int i = 0; i < n; i++) {
      uint8_t* data = static_cast<uint8_t*>(inIov[i].iov_base);
      size_t length = in[i].msg_len;
      const Channel* channel = nullptr;
      if (alloc && alloc->listener && from[i].ss_family == AF_INET && length <= 0xffff)
        channel = alloc->byPeer(*reinterpret_cast<const sockaddr_in*>(&from[i]), now);
      if (!channel) {
        unhandled_.push_back(Unhandled{data, length, &from[i]});
        continue;
      }
      if (!alloc->take(now, length)) {
        counters_[kBandwidthDropsPeer] += 1;
        continue;
      }
      counters_[kPeerToClientPackets] += 1;
      counters_[kPeerToClientBytes] += static_cast<double>(length);
      uint8_t* frame = data - kHeader;
      frame[0] = static_cast<uint8_t>(channel->number >> 8);
      frame[1] = static_cast<uint8_t>(channel->number);
      frame[2] = static_cast<uint8_t>(length >> 8);
      frame[3] = static_cast<uint8_t>(length);
      // Over UDP no padding (RFC 8656 §12.5), as the JS path sends it.
      outIov[outCount] = {frame, length + kHeader};
      out[outCount].msg_hdr = msghdr{&alloc->client, alloc->clientLen, &outIov[outCount], 1, nullptr, 0, 0};
      outCount++;
    }
    if (outCount > 0) {
      int sent = sendmmsg(alloc->listener->fd, out, outCount, MSG_DONTWAIT);
      if (sent < outCount) counters_[kSendErrors] += outCount - (sent < 0 ? 0 : sent);
    }
    if (!unhandled_.empty()) deliver_(context_, socket->id, unhandled_);
    if (n < kBatch) return;
  }
}

}  // namespace pinhole
