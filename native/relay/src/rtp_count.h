// bench:cluster's load generator's counting of received RTP (rtp_count.cc; bench/cluster/cheapMedia.ts
// documents the method): per received SSRC the RFC 3550 A.3 counts (for the receiver reports), and for a
// stream tied to a publisher of the same process, each header's sender packet counter noted in a ring the
// bench's window reads. No JavaScript per packet.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <vector>

/** One received SSRC: its sequence numbers (extended to 32 bits) and how it is counted. */
struct CountedStream {
  uint32_t ssrc = 0;
  uint32_t base = 0, highest = 0;
  double received = 0;
  /** At the last receiver report (RFC 3550 A.3): expected and received so far. */
  double expectedPrior = 0, receivedPrior = 0;
  /** kQueued: headers handed to JavaScript (the sender is not native); kNative: counted here. */
  enum Mode { kUntied, kQueued, kNative } mode = kUntied;
  /** Native: the receiver's sequence number minus the sender's counter (mod 2^16), the sender's "sent so
   *  far" (its publisher's stats, kept alive by the sink's reference), the ring's key. */
  uint16_t offset = 0;
  const double* sent = nullptr;
  uint32_t key = 0;
};

struct Counting {
  std::vector<CountedStream> streams;
  /** Per key (a sender and kind), counter + 1 at counter % kRing of each packet that arrived. */
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> rings;
  /** Headers counted here, and headers that named no recent packet of their sender (untied again). */
  double counted = 0, unmapped = 0;
};

/** The stream of `ssrc` (created on first sight). */
CountedStream* streamOf(Counting* c, uint32_t ssrc);

/** Notes a header of `s` with sequence number `seq`: the A.3 counts, and for a native stream its counter.
 *  False when it is not counted here (not tied, queued, or unmapped: then untied). */
bool countHeader(Counting* c, CountedStream* s, uint16_t seq);

/** Ties `s` natively: `offset`, the sender's `sent`, the ring `key`; notes `counter` (the decrypted one). */
void tieNative(Counting* c, CountedStream* s, uint16_t offset, const double* sent, uint32_t key, uint32_t counter);

/** How many of the counters in [from, to) of `key` arrived (to - from <= kRing, else -1). */
double countRange(const Counting* c, uint32_t key, double from, double to);
