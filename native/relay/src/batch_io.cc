// The forwarding itself: recvmmsg a batch from a listener or relay socket, forward the ChannelData that
// matches a live channel with sendmmsg, and hand every other datagram to JavaScript in one Deliver call.
#include "relay.h"
#include "relay_internal.h"

namespace pinhole {

namespace {

constexpr uint16_t kChannelMin = 0x4000;
constexpr uint16_t kChannelMax = 0x7fff;

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
