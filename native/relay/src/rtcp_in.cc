// bench:cluster's load generator's RTCP receive (rtcp_in.h). The node sends each participant a sender
// report per forwarded stream about once a second (six for three others' audio and video) and receiver
// reports for what it receives; werift decrypted each in JavaScript (a new cipher context, a promise chain
// per packet), the largest part of a generator once its media was native. The sender reports' NTP time is
// what the participant's receiver reports echo (LSR, RFC 3550 §6.4.1), so they are read here.
#include "rtcp_in.h"

#include <string.h>

#include "srtp_gcm.h"

namespace {

constexpr size_t kHeader = 8;
constexpr size_t kTag = 16;
constexpr size_t kIndex = 4;
constexpr uint8_t kSenderReport = 200, kReceiverReport = 201, kSourceDescription = 202;

using srtp_gcm::get32;

/** RFC 7714 §9: the plaintext (header in clear, the rest decrypted) into `out`; its length, 0 if forged. */
size_t unprotect(RtcpIn* in, const uint8_t* data, size_t length, uint8_t* out) {
  if (length < kHeader + kTag + kIndex) return 0;
  const uint8_t* index = data + length - kIndex;
  if ((index[0] & 0x80) == 0) return 0;  // not encrypted (werift encrypts all): werift's to handle
  uint8_t iv[srtp_gcm::kIvBytes];
  srtp_gcm::rtcpIv(in->salt, get32(data + 4), get32(index), iv);  // the 31-bit index, without the E flag
  uint8_t aad[kHeader + kIndex];
  memcpy(aad, data, kHeader);
  memcpy(aad + kHeader, index, kIndex);  // E flag and index, as sent
  size_t cipherLength = length - kHeader - kTag - kIndex;
  int n = 0;
  EVP_CIPHER_CTX* ctx = in->ctx;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1) return 0;
  if (EVP_DecryptUpdate(ctx, nullptr, &n, aad, sizeof aad) != 1) return 0;
  memcpy(out, data, kHeader);
  if (EVP_DecryptUpdate(ctx, out + kHeader, &n, data + kHeader, static_cast<int>(cipherLength)) != 1) return 0;
  auto* tag = const_cast<uint8_t*>(data + kHeader + cipherLength);
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag, tag) != 1) return 0;
  if (EVP_DecryptFinal_ex(ctx, out + kHeader + n, &n) != 1) return 0;  // the tag did not match
  return kHeader + cipherLength;
}

void note(RtcpIn* in, uint32_t ssrc, uint32_t lsr, double nowUnixMs) {
  for (auto& seen : in->reports) {
    if (seen.ssrc == ssrc) {
      seen.lsr = lsr;
      seen.arrivalUnixMs = nowUnixMs;
      return;
    }
  }
  in->reports.push_back({ssrc, lsr, nowUnixMs});
}

}  // namespace

bool keyRtcpIn(RtcpIn* in, const uint8_t* key, const uint8_t* salt) {
  freeRtcpIn(in);
  in->ctx = srtp_gcm::newContext(key, false);
  if (in->ctx == nullptr) return false;
  memcpy(in->salt, salt, sizeof in->salt);
  return true;
}

void freeRtcpIn(RtcpIn* in) {
  EVP_CIPHER_CTX_free(in->ctx);
  in->ctx = nullptr;
}

bool handleRtcp(RtcpIn* in, const uint8_t* data, size_t length, double nowUnixMs) {
  if (in->ctx == nullptr || length > 2048) return false;
  uint8_t plain[2048];
  size_t total = unprotect(in, data, length, plain);
  if (total == 0) {
    in->failed++;
    return false;
  }
  // Reports only: anything else in the compound (a PLI, a NACK, a BYE) goes to werift whole.
  for (size_t at = 0; at + 4 <= total;) {
    uint8_t type = plain[at + 1];
    size_t size = (((size_t(plain[at + 2]) << 8) | plain[at + 3]) + 1) * 4;
    if (at + size > total) return false;
    if (type != kSenderReport && type != kReceiverReport && type != kSourceDescription) return false;
    at += size;
  }
  for (size_t at = 0; at + 4 <= total;) {
    size_t size = (((size_t(plain[at + 2]) << 8) | plain[at + 3]) + 1) * 4;
    // SR: header, SSRC, NTP (8), ... — LSR is the NTP time's middle 32 bits.
    if (plain[at + 1] == kSenderReport && size >= 28) note(in, get32(plain + at + 4), get32(plain + at + 10), nowUnixMs);
    at += size;
  }
  in->handled++;
  return true;
}
