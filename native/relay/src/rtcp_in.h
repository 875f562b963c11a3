// bench:cluster's load generator's RTCP receive (rtcp_in.cc): the node's SRTCP authenticated and decrypted
// in C++ (AEAD_AES_128_GCM, RFC 7714 §9), its sender reports noted for the generator's receiver reports.
#pragma once

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include <vector>

/** A sender report the node sent: its SSRC, the middle 32 bits of its NTP time (LSR), when it arrived. */
struct SenderReportSeen {
  uint32_t ssrc;
  uint32_t lsr;
  double arrivalUnixMs;
};

struct RtcpIn {
  EVP_CIPHER_CTX* ctx = nullptr;
  uint8_t salt[12];
  /** The last sender report of each SSRC. */
  std::vector<SenderReportSeen> reports;
  /** Compound packets handled here, and ones that failed authentication (handed on). */
  double handled = 0, failed = 0;
};

/** Keys `in` with the remote SRTCP session key (16 bytes) and salt (>= 12); false when OpenSSL refuses. */
bool keyRtcpIn(RtcpIn* in, const uint8_t* key, const uint8_t* salt);

void freeRtcpIn(RtcpIn* in);

/**
 * True when `data` is an SRTCP compound of reports only (sender and receiver reports, SDES) that
 * authenticated: its sender reports noted, nothing more to do. False for anything else (keyframe
 * requests, NACKs, BYE, a packet that does not authenticate): the caller hands it to werift.
 */
bool handleRtcp(RtcpIn* in, const uint8_t* data, size_t length, double nowUnixMs);
