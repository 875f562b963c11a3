// What the engine's files share and addon.cc does not need: the batch sizes, the buffer layout and the
// client key of an address.
#pragma once

#include <string.h>

#include "relay.h"

namespace pinhole {

// Datagrams read per recvmmsg, and batches read per wake-up before yielding to the rest of the loop.
constexpr int kBatch = 32;
constexpr int kBatchesPerWake = 8;
// Room for the largest datagram plus the 4-byte ChannelData header we prepend towards clients.
constexpr size_t kHeader = 4;
constexpr size_t kSlot = 65536 + 8;

/** The key of a client 5-tuple on one listener: IPv4 as v4-mapped IPv6. */
inline AddrKey keyOf(const sockaddr_storage& addr) {
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

}  // namespace pinhole
