// AEAD_AES_128_GCM SRTP protection (RFC 7714) of one RTP packet, shared by the conference server's send
// (srtp_out.cc) and bench:cluster's load generator (rtp_gen.cc): the RTP header written from its fields,
// the payload encrypted behind it with an OpenSSL context keyed once per SRTP session (only the IV changes
// per packet). The IVs and keyed contexts are also the receive side's (srtp_in.cc) and the SRTCP code's.
#pragma once

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

namespace srtp_gcm {

constexpr size_t kKeyBytes = 16;
constexpr size_t kIvBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kFixedHeader = 12;
constexpr size_t kTwccExtension = 8;
/** The most a header written here takes. */
constexpr size_t kMaxHeader = kFixedHeader + kTwccExtension;

/** The header fields: flags (marker << 7 | payload type), seq, ts, ssrc, rollover counter, twcc (0, or
 *  id << 16 | transport-wide sequence). */
struct Fields {
  uint32_t flags, sequence, timestamp, ssrc, roc, twcc;
};

inline void put16(uint8_t* at, uint32_t v) {
  at[0] = static_cast<uint8_t>(v >> 8);
  at[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* at, uint32_t v) {
  put16(at, v >> 16);
  put16(at + 2, v);
}
inline uint32_t get16(const uint8_t* at) { return (static_cast<uint32_t>(at[0]) << 8) | at[1]; }
inline uint32_t get32(const uint8_t* at) { return (get16(at) << 16) | get16(at + 2); }

/** RFC 7714 §8.1, an SRTP packet's IV: 00 00 || SSRC || ROC || SEQ, XOR the session salt. */
inline void rtpIv(const uint8_t* salt, uint32_t ssrc, uint32_t roc, uint32_t sequence, uint8_t* iv) {
  iv[0] = iv[1] = 0;
  put32(iv + 2, ssrc);
  put32(iv + 6, roc);
  put16(iv + 10, sequence & 0xffff);
  for (size_t i = 0; i < kIvBytes; i++) iv[i] ^= salt[i];
}

/** RFC 7714 §9.1, an SRTCP packet's IV: 00 00 || SSRC || 00 00 || index (31 bits), XOR the session salt. */
inline void rtcpIv(const uint8_t* salt, uint32_t ssrc, uint32_t index, uint8_t* iv) {
  iv[0] = iv[1] = 0;
  put32(iv + 2, ssrc);
  put16(iv + 6, 0);
  put32(iv + 8, index & 0x7fffffff);
  for (size_t i = 0; i < kIvBytes; i++) iv[i] ^= salt[i];
}

/** RFC 3550 §5.1 header, plus the RFC 8285 one-byte extension with the transport-wide sequence. */
inline size_t writeHeader(uint8_t* out, const Fields& f) {
  out[0] = f.twcc ? 0x90 : 0x80;
  out[1] = static_cast<uint8_t>(f.flags & 0xff);
  put16(out + 2, f.sequence & 0xffff);
  put32(out + 4, f.timestamp);
  put32(out + 8, f.ssrc);
  if (!f.twcc) return kFixedHeader;
  put16(out + 12, 0xbede);
  put16(out + 14, 1);
  out[16] = static_cast<uint8_t>(((f.twcc >> 16) << 4) | 1);
  put16(out + 17, f.twcc & 0xffff);
  out[19] = 0;
  return kFixedHeader + kTwccExtension;
}

/** A context keyed with `key` (16 bytes) for AES-128-GCM encryption (or decryption: the receive side), or
 *  nullptr when OpenSSL refuses it. */
inline EVP_CIPHER_CTX* newContext(const uint8_t* key, bool encrypt = true) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx != nullptr && EVP_CipherInit_ex(ctx, EVP_aes_128_gcm(), nullptr, key, nullptr, encrypt ? 1 : 0) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

/**
 * The SRTP packet into `out` (room for kMaxHeader + length + kTagBytes): its length, or 0 when OpenSSL
 * refused. `salt` is the session salt's first 12 bytes.
 */
inline size_t protect(EVP_CIPHER_CTX* ctx, const uint8_t* salt, const Fields& f, const uint8_t* payload,
                      size_t length, uint8_t* out) {
  size_t header = writeHeader(out, f);
  uint8_t iv[kIvBytes];
  rtpIv(salt, f.ssrc, f.roc, f.sequence, iv);
  int n = 0;
  int last = 0;
  // A new IV on the keyed context: the key schedule stays.
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) != 1) return 0;
  if (EVP_EncryptUpdate(ctx, nullptr, &n, out, static_cast<int>(header)) != 1) return 0;
  if (EVP_EncryptUpdate(ctx, out + header, &n, payload, static_cast<int>(length)) != 1) return 0;
  if (EVP_EncryptFinal_ex(ctx, out + header + n, &last) != 1) return 0;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes, out + header + length) != 1) return 0;
  return header + length + kTagBytes;
}

}  // namespace srtp_gcm
