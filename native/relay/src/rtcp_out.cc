// bench:cluster's load generator's RTCP send (rtcp_out.h). A browser sends one compound a second or so per
// transport: its senders' reports, its receiver reports, its CNAME. Built here, a participant's reports cost
// the generator no JavaScript (werift built, serialised and encrypted each packet with a new cipher
// context and a promise chain: two sender reports and a receiver report a second per participant).
#include "rtcp_out.h"

#include <math.h>
#include <string.h>

#include "srtp_gcm.h"

namespace {

using srtp_gcm::put16;
using srtp_gcm::put32;

constexpr uint8_t kSenderReport = 200, kReceiverReport = 201, kSourceDescription = 202;
constexpr size_t kMaxBlocks = 31;
/** Seconds from the NTP epoch (1900) to the Unix epoch. */
constexpr double kNtpUnixOffset = 2208988800.0;

void header(uint8_t* at, uint8_t count, uint8_t type, size_t bytes) {
  at[0] = static_cast<uint8_t>(0x80 | count);
  at[1] = type;
  put16(at + 2, static_cast<uint32_t>(bytes / 4 - 1));
}

size_t senderReport(const SenderInfo& s, uint8_t* at) {
  header(at, 0, kSenderReport, 28);
  put32(at + 4, s.ssrc);
  double seconds = s.sentUnixMs / 1000 + kNtpUnixOffset;
  double whole = floor(seconds);
  put32(at + 8, static_cast<uint32_t>(static_cast<uint64_t>(whole)));
  put32(at + 12, static_cast<uint32_t>((seconds - whole) * 4294967296.0));
  put32(at + 16, s.rtpTimestamp);
  put32(at + 20, s.packets);
  put32(at + 24, s.octets);
  return 28;
}

/** RFC 3550 A.3 (receiverReports.ts lossSince): the block's loss fields since the last report. */
void block(CountedStream& s, const RtcpIn* in, double nowUnixMs, uint8_t* at) {
  double expected = double(s.highest) - s.base + 1;
  double expectedInterval = expected - s.expectedPrior;
  double lostInterval = expectedInterval - (s.received - s.receivedPrior);
  s.expectedPrior = expected;
  s.receivedPrior = s.received;
  uint32_t fraction =
      expectedInterval <= 0 || lostInterval <= 0 ? 0 : static_cast<uint32_t>(fmin(255, floor(lostInterval * 256 / expectedInterval)));
  double lost = fmin(0x7fffff, fmax(0, expected - s.received));
  put32(at, s.ssrc);
  put32(at + 4, (fraction << 24) | static_cast<uint32_t>(lost));
  put32(at + 8, s.highest);
  put32(at + 12, 0);  // jitter: not measured
  uint32_t lsr = 0, dlsr = 0;
  for (const auto& seen : in->reports) {
    if (seen.ssrc != s.ssrc) continue;
    lsr = seen.lsr;
    dlsr = static_cast<uint32_t>(fmax(0, (nowUnixMs - seen.arrivalUnixMs) / 1000 * 65536));
  }
  put32(at + 16, lsr);
  put32(at + 20, dlsr);
}

size_t receiverReport(uint32_t ssrc, Counting* counting, const RtcpIn* in, double nowUnixMs, uint8_t* at) {
  size_t n = 0;
  for (auto& s : counting->streams) {
    if (s.received == 0 || n == kMaxBlocks) continue;
    block(s, in, nowUnixMs, at + 8 + 24 * n);
    n++;
  }
  header(at, static_cast<uint8_t>(n), kReceiverReport, 8 + 24 * n);
  put32(at + 4, ssrc);
  return 8 + 24 * n;
}

/** One chunk per sender: SSRC, CNAME item, end, padded to a word. */
size_t sourceDescription(const SenderInfo* senders, size_t count, const std::string& cname, uint8_t* at) {
  size_t bytes = 4;
  size_t text = cname.size() > 255 ? 255 : cname.size();
  for (size_t i = 0; i < count; i++) {
    uint8_t* chunk = at + bytes;
    put32(chunk, senders[i].ssrc);
    chunk[4] = 1;  // CNAME
    chunk[5] = static_cast<uint8_t>(text);
    memcpy(chunk + 6, cname.data(), text);
    size_t length = 6 + text + 1;  // and the end item
    size_t padded = (length + 3) / 4 * 4;
    memset(chunk + 6 + text, 0, padded - 6 - text);
    bytes += padded;
  }
  header(at, static_cast<uint8_t>(count), kSourceDescription, bytes);
  return bytes;
}

}  // namespace

size_t buildReports(RtcpOut* out, const SenderInfo* senders, size_t count, Counting* counting, const RtcpIn* in,
                    double nowUnixMs, uint8_t* packet) {
  uint8_t plain[1400];
  size_t n = 0;
  for (size_t i = 0; i < count; i++) n += senderReport(senders[i], plain + n);
  n += receiverReport(out->receiverSsrc, counting, in, nowUnixMs, plain + n);
  n += sourceDescription(senders, count, out->cname, plain + n);
  // RFC 7714 §9.1: IV = 00 00 || SSRC || 00 00 || index, XOR the salt; AAD = the first 8 bytes || E|index.
  out->index = (out->index + 1) & 0x7fffffff;
  uint8_t iv[srtp_gcm::kIvBytes];
  srtp_gcm::rtcpIv(out->salt, srtp_gcm::get32(plain + 4), out->index, iv);
  uint8_t trailer[4];
  put32(trailer, 0x80000000u | out->index);
  int len = 0;
  EVP_CIPHER_CTX* ctx = out->ctx;
  memcpy(packet, plain, 8);
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1) return 0;
  if (EVP_EncryptUpdate(ctx, nullptr, &len, plain, 8) != 1) return 0;
  if (EVP_EncryptUpdate(ctx, nullptr, &len, trailer, 4) != 1) return 0;
  if (EVP_EncryptUpdate(ctx, packet + 8, &len, plain + 8, static_cast<int>(n - 8)) != 1) return 0;
  if (EVP_EncryptFinal_ex(ctx, packet + 8 + len, &len) != 1) return 0;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, packet + n) != 1) return 0;
  memcpy(packet + n + 16, trailer, 4);
  return n + 20;
}
