// bench:cluster's load generator's counting of received RTP (rtp_count.h): what cheapMedia.ts's
// HeaderCounter did in JavaScript for every datagram, here for the streams of native publishers.
#include "rtp_count.h"

namespace {

/** Packets remembered per stream: more than a window's worth (a 5 s window holds ≈ 250–400). */
constexpr uint32_t kRing = 4096;
/** A header whose packet the sender sent more than this many packets ago is taken for a moved offset. */
constexpr uint32_t kMaxAge = 2048;

std::vector<uint32_t>* ringOf(Counting* c, uint32_t key) {
  for (auto& ring : c->rings)
    if (ring.first == key) return &ring.second;
  c->rings.emplace_back(key, std::vector<uint32_t>(kRing, 0));
  return &c->rings.back().second;
}

}  // namespace

CountedStream* streamOf(Counting* c, uint32_t ssrc) {
  for (auto& s : c->streams)
    if (s.ssrc == ssrc) return &s;
  c->streams.emplace_back();
  c->streams.back().ssrc = ssrc;
  return &c->streams.back();
}

bool countHeader(Counting* c, CountedStream* s, uint16_t seq) {
  // RFC 3550 A.3 (receiverReports.ts receive()): the highest sequence number extended across wraps.
  if (s->received == 0) {
    s->base = s->highest = seq;
  } else {
    uint16_t ahead = static_cast<uint16_t>(seq - static_cast<uint16_t>(s->highest));
    if (ahead != 0 && ahead < 0x8000) s->highest += ahead;  // newer (an older one is out of order)
  }
  s->received++;
  if (s->mode == CountedStream::kQueued) return false;
  if (s->mode != CountedStream::kNative) return false;
  uint32_t low = static_cast<uint16_t>(seq - s->offset);
  double next = *s->sent;
  uint32_t last = static_cast<uint32_t>(next) - 1;
  uint32_t age = static_cast<uint16_t>(last - low);
  if (age >= kMaxAge || next - 1 - age < 0) {
    c->unmapped++;
    s->mode = CountedStream::kUntied;  // tied again from the next packets werift decrypts
    return false;
  }
  uint32_t counter = last - age;
  (*ringOf(c, s->key))[counter % kRing] = counter + 1;
  c->counted++;
  return true;
}

void tieNative(Counting* c, CountedStream* s, uint16_t offset, const double* sent, uint32_t key, uint32_t counter) {
  s->mode = CountedStream::kNative;
  s->offset = offset;
  s->sent = sent;
  s->key = key;
  (*ringOf(c, key))[counter % kRing] = counter + 1;
}

double countRange(const Counting* c, uint32_t key, double from, double to) {
  if (to - from > kRing) return -1;
  for (const auto& ring : c->rings) {
    if (ring.first != key) continue;
    double n = 0;
    for (double at = from; at < to; at++) {
      uint32_t counter = static_cast<uint32_t>(at);
      if (ring.second[counter % kRing] == counter + 1) n++;
    }
    return n;
  }
  return 0;
}
