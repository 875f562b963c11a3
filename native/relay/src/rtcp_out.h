// bench:cluster's load generator's RTCP send (rtcp_out.cc): a participant's reports as one SRTCP compound,
// built and encrypted in C++ (AEAD_AES_128_GCM, RFC 7714 §9).
#pragma once

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include <string>

#include "rtcp_in.h"
#include "rtp_count.h"

/** A sender report's fields (RFC 3550 §6.4.1). */
struct SenderInfo {
  uint32_t ssrc;
  double sentUnixMs;
  uint32_t rtpTimestamp, packets, octets;
};

/** The local SRTCP session: a context keyed once, the salt, the index of the compound's first SSRC. */
struct RtcpOut {
  EVP_CIPHER_CTX* ctx = nullptr;
  uint8_t salt[12];
  uint32_t index = 0;
  /** The receiver reports' SSRC and the participant's CNAME (the SDES of each sender). */
  uint32_t receiverSsrc = 0;
  std::string cname;
};

/**
 * The compound into `out` (room for 1,500 bytes): a sender report per sender (1 or 2), a receiver report
 * with a block per stream `counting` received (at most 31; loss as RFC 3550 A.3 counts it since the last
 * report, LSR and DLSR from `in`'s sender reports), an SDES with each sender's CNAME; encrypted. Its
 * length, 0 when OpenSSL refused.
 */
size_t buildReports(RtcpOut* out, const SenderInfo* senders, size_t count, Counting* counting, const RtcpIn* in,
                    double nowUnixMs, uint8_t* packet);
