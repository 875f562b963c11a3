// The ChannelData fast path of Pinhole's TURN relay (docs/proxy.md §8). No JavaScript here: the engine
// owns UDP sockets polled in Node's libuv loop, forwards ChannelData between clients and peers along
// entries that the TypeScript runtime installs, and hands every other datagram back through `Deliver`.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <string.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace pinhole {

/** An IP (IPv4 as v4-mapped IPv6) and port: the key of a client 5-tuple on one listener. */
struct AddrKey {
  uint8_t ip[16];
  uint16_t port;
  bool operator==(const AddrKey& other) const;
};

struct AddrKeyHash {
  size_t operator()(const AddrKey& key) const;
};

/** A bound channel (RFC 8656 §12) to an IPv4 peer, valid until `deadlineMs` on the monotonic clock. */
struct Channel {
  uint16_t number;
  sockaddr_in peer;
  uint64_t deadlineMs;
};

struct Socket;

/** What the fast path knows of one allocation: its relay socket, its client and its live channels. */
struct Allocation {
  uint32_t id = 0;
  Socket* relay = nullptr;
  Socket* listener = nullptr;
  sockaddr_storage client{};
  socklen_t clientLen = 0;
  AddrKey clientKey{};
  // Bandwidth cap, both directions together (the same token bucket the JS path charges).
  double rate = 0;
  double tokens = 0;
  uint64_t lastMs = 0;
  std::vector<Channel> channels;

  bool take(uint64_t nowMs, size_t bytes);
  const Channel* byNumber(uint16_t number, uint64_t nowMs) const;
  const Channel* byPeer(const sockaddr_in& peer, uint64_t nowMs) const;
};

enum class Kind { Listener, Relay };

struct Engine;

struct Socket {
  Kind kind = Kind::Listener;
  uint32_t id = 0;
  int fd = -1;
  int family = AF_INET;
  bool closing = false;
  uv_poll_t poll{};
  Engine* engine = nullptr;
  // Listener: the clients holding an allocation. Relay: its allocation.
  std::unordered_map<AddrKey, Allocation*, AddrKeyHash> clients;
  Allocation* alloc = nullptr;
};

/** Counters since the last read, in the order `Engine::takeCounters` returns them. */
enum Counter {
  kClientToPeerPackets,
  kClientToPeerBytes,
  kPeerToClientPackets,
  kPeerToClientBytes,
  kBandwidthDropsClient,
  kBandwidthDropsPeer,
  kSendErrors,
  kBatches,
  kCounterCount,
};

/** A datagram the fast path did not forward; pointers are valid only during the Deliver call. */
struct Unhandled {
  const uint8_t* data;
  size_t length;
  const sockaddr_storage* from;
};

using Deliver = void (*)(void* context, uint32_t socketId, const std::vector<Unhandled>& packets);

struct Engine {
  Engine(uv_loop_t* loop, Deliver deliver, void* context);
  ~Engine();

  /** Returns the socket id (> 0) or a negative errno. */
  int64_t openListener(const sockaddr_storage& addr, socklen_t len, bool reusePort, int bufferBytes);
  int64_t openRelay(const sockaddr_storage& addr, socklen_t len, int bufferBytes);
  int localPort(uint32_t socketId) const;
  void closeSocket(uint32_t socketId);
  /** sendto on one of our sockets; false when the kernel refused it (counted). */
  bool send(uint32_t socketId, const uint8_t* data, size_t length, const sockaddr_storage& to,
            socklen_t toLen);

  void allocate(uint32_t allocId, double bytesPerSecond);
  bool attach(uint32_t allocId, uint32_t relayId, uint32_t listenerId, const sockaddr_storage& client,
              socklen_t clientLen);
  bool take(uint32_t allocId, size_t bytes);
  bool setChannel(uint32_t allocId, uint16_t number, const sockaddr_in& peer, uint64_t ttlMs);
  void removeChannel(uint32_t allocId, uint16_t number);
  void freeAllocation(uint32_t allocId);
  void takeCounters(double out[kCounterCount]);
  void closeAll();

  // Called from the poll callback.
  void onReadable(Socket* socket);

 private:
  int64_t addSocket(Kind kind, int fd);
  void readListener(Socket* socket);
  void readRelay(Socket* socket);
  void detach(Allocation* alloc);

  uv_loop_t* loop_;
  Deliver deliver_;
  void* context_;
  uint32_t nextSocketId_ = 1;
  std::unordered_map<uint32_t, Socket*> sockets_;
  std::unordered_map<uint32_t, Allocation*> allocs_;
  double counters_[kCounterCount] = {};
  std::vector<uint8_t> buffers_;
  std::vector<Unhandled> unhandled_;
};

/** Milliseconds on the monotonic clock. */
uint64_t nowMs();

// Inline: the forwarding loop (batch_io.cc) calls these for every datagram.

inline bool AddrKey::operator==(const AddrKey& other) const {
  return port == other.port && memcmp(ip, other.ip, 16) == 0;
}

inline size_t AddrKeyHash::operator()(const AddrKey& key) const {
  uint64_t a;
  uint64_t b;
  memcpy(&a, key.ip, 8);
  memcpy(&b, key.ip + 8, 8);
  uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + key.port) * 0xc2b2ae3d27d4eb4fULL;
  return static_cast<size_t>(h ^ (h >> 29));
}

inline bool Allocation::take(uint64_t now, size_t bytes) {
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

inline const Channel* Allocation::byNumber(uint16_t number, uint64_t now) const {
  for (const Channel& c : channels)
    if (c.number == number) return c.deadlineMs > now ? &c : nullptr;
  return nullptr;
}

inline const Channel* Allocation::byPeer(const sockaddr_in& peer, uint64_t now) const {
  for (const Channel& c : channels) {
    if (c.peer.sin_port == peer.sin_port && c.peer.sin_addr.s_addr == peer.sin_addr.s_addr)
      return c.deadlineMs > now ? &c : nullptr;
  }
  return nullptr;
}

}  // namespace pinhole
