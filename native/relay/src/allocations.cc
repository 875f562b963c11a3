// The allocation and channel table: what the TypeScript runtime installs (allocations, their client and
// relay socket, bound channels with deadlines) and the token bucket both paths charge.
#include "relay.h"
#include "relay_internal.h"

namespace pinhole {

void Engine::detach(Allocation* alloc) {
  if (alloc->listener) alloc->listener->clients.erase(alloc->clientKey);
  if (alloc->relay) alloc->relay->alloc = nullptr;
  alloc->listener = nullptr;
  alloc->relay = nullptr;
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
}  // namespace pinhole
