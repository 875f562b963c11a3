// The conference server's SRTP receive for the RTP packets its participants publish and the RTCP they send
// (src/sfu/media/srtpIn.ts documents it): AEAD_AES_128_GCM (RFC 7714) verified and decrypted by an OpenSSL
// context keyed once per SRTP session, the mirror of srtp_out.cc's send (werift's decryption creates and
// keys a node:crypto context per packet and copies the packet three times). The output is what werift's
// decryption returns: the RTP header as received, the plaintext payload behind it, the tag cut off.
// Part of pinhole_media (srtp_out.cc's init registers the class).
#include "srtp_in.h"

#include <openssl/evp.h>
#include <string.h>

namespace {

constexpr size_t kKeyBytes = 16;
constexpr size_t kIvBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kFixedHeader = 12;
constexpr size_t kRtcpHeader = 8;
constexpr size_t kIndexBytes = 4;

#define CHECK(call)                        \
  do {                                     \
    if ((call) != napi_ok) return nullptr; \
  } while (0)

struct Receiver {
  EVP_CIPHER_CTX* ctx = nullptr;
  uint8_t salt[kIvBytes];
};

void finalize(napi_env, void* data, void*) {
  auto* receiver = static_cast<Receiver*>(data);
  EVP_CIPHER_CTX_free(receiver->ctx);
  delete receiver;
}

uint32_t get16(const uint8_t* at) { return (static_cast<uint32_t>(at[0]) << 8) | at[1]; }
uint32_t get32(const uint8_t* at) { return (get16(at) << 16) | get16(at + 2); }
void put16(uint8_t* at, uint32_t v) {
  at[0] = static_cast<uint8_t>(v >> 8);
  at[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* at, uint32_t v) {
  put16(at, v >> 16);
  put16(at + 2, v);
}

/**
 * Where the payload starts (RFC 3550 §5.1: CSRCs, then the extension's 4-byte header and as many words as it
 * declares), or 0 when the header runs into the tag.
 */
size_t payloadOffset(const uint8_t* packet, size_t length) {
  if (length < kFixedHeader + kTagBytes) return 0;
  size_t end = length - kTagBytes;
  size_t offset = kFixedHeader + 4 * static_cast<size_t>(packet[0] & 0x0f);
  if (packet[0] & 0x10) {
    if (offset + 4 > end) return 0;
    offset += 4 + 4 * static_cast<size_t>(get16(packet + offset + 2));
  }
  return offset <= end ? offset : 0;
}

/**
 * `packet` verified and decrypted into `out` (room for length - kTagBytes) with the rollover counter `roc`:
 * true, or false when it is malformed, fails authentication, or its padding (RFC 3550 §5.1, inside the
 * encrypted part) claims more bytes than the payload has, which werift also drops.
 */
bool unprotect(Receiver* r, const uint8_t* packet, size_t length, uint32_t roc, uint8_t* out) {
  size_t header = payloadOffset(packet, length);
  if (header == 0) return false;
  size_t plain = length - kTagBytes;
  // RFC 7714 §8.1: 00 00 || SSRC || ROC || SEQ, XOR the session salt.
  uint8_t iv[kIvBytes] = {0, 0};
  put32(iv + 2, get32(packet + 8));
  put32(iv + 6, roc);
  put16(iv + 10, get16(packet + 2));
  for (size_t i = 0; i < kIvBytes; i++) iv[i] ^= r->salt[i];
  int n = 0;
  int last = 0;
  // The tag is set before the final call, which checks it; the key schedule stays, only the IV changes.
  auto* tag = const_cast<uint8_t*>(packet + plain);
  if (EVP_DecryptInit_ex(r->ctx, nullptr, nullptr, nullptr, iv) != 1) return false;
  if (EVP_DecryptUpdate(r->ctx, nullptr, &n, packet, static_cast<int>(header)) != 1) return false;
  if (EVP_DecryptUpdate(r->ctx, out + header, &n, packet + header, static_cast<int>(plain - header)) != 1)
    return false;
  if (EVP_CIPHER_CTX_ctrl(r->ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) != 1) return false;
  if (EVP_DecryptFinal_ex(r->ctx, out + header + n, &last) != 1) return false;
  memcpy(out, packet, header);
  if (!(packet[0] & 0x20)) return true;
  uint8_t padding = out[plain - 1];
  return plain > header && padding > 0 && padding <= plain - header;
}

/**
 * An SRTCP packet (RFC 7714 §9: E flag and index in the last 4 bytes, the tag before them) verified and,
 * when its E flag says so, decrypted into `out` (room for length - kTagBytes - 4): the RTCP packet as
 * werift's decryption returns it. The AAD is the first 8 bytes (everything before the tag when unencrypted)
 * and the E flag with the index.
 */
bool unprotectRtcp(Receiver* r, const uint8_t* packet, size_t length, uint8_t* out) {
  if (length < kRtcpHeader + kTagBytes + kIndexBytes) return false;
  size_t indexAt = length - kIndexBytes;
  size_t tagAt = indexAt - kTagBytes;
  uint32_t word = get32(packet + indexAt);
  bool encrypted = (word >> 31) != 0;
  // RFC 7714 §9.1: 00 00 || SSRC || 00 00 || index (31 bits), XOR the session salt.
  uint8_t iv[kIvBytes] = {0};
  put32(iv + 2, get32(packet + 4));
  put32(iv + 8, word & 0x7fffffff);
  for (size_t i = 0; i < kIvBytes; i++) iv[i] ^= r->salt[i];
  size_t clear = encrypted ? kRtcpHeader : tagAt;
  int n = 0;
  int last = 0;
  auto* tag = const_cast<uint8_t*>(packet + tagAt);
  if (EVP_DecryptInit_ex(r->ctx, nullptr, nullptr, nullptr, iv) != 1) return false;
  if (EVP_DecryptUpdate(r->ctx, nullptr, &n, packet, static_cast<int>(clear)) != 1) return false;
  if (EVP_DecryptUpdate(r->ctx, nullptr, &n, packet + indexAt, static_cast<int>(kIndexBytes)) != 1) return false;
  n = 0;
  if (encrypted && EVP_DecryptUpdate(r->ctx, out + kRtcpHeader, &n, packet + kRtcpHeader,
                                     static_cast<int>(tagAt - kRtcpHeader)) != 1)
    return false;
  if (EVP_CIPHER_CTX_ctrl(r->ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) != 1) return false;
  if (EVP_DecryptFinal_ex(r->ctx, out + clear + n, &last) != 1) return false;
  memcpy(out, packet, clear);
  return true;
}

/** new SrtpGcmReceiver(key: Buffer(16), salt: Buffer(>= 12)) */
napi_value construct(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_value self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  void* key = nullptr;
  void* salt = nullptr;
  size_t keyLength = 0;
  size_t saltLength = 0;
  if (argc < 2 || napi_get_buffer_info(env, argv[0], &key, &keyLength) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &salt, &saltLength) != napi_ok || keyLength != kKeyBytes ||
      saltLength < kIvBytes) {
    napi_throw_type_error(env, nullptr, "pinhole_media: a 16-byte key and a 12-byte salt");
    return nullptr;
  }
  auto* receiver = new Receiver();
  receiver->ctx = EVP_CIPHER_CTX_new();
  if (receiver->ctx == nullptr ||
      EVP_DecryptInit_ex(receiver->ctx, EVP_aes_128_gcm(), nullptr, static_cast<uint8_t*>(key), nullptr) != 1) {
    EVP_CIPHER_CTX_free(receiver->ctx);
    delete receiver;
    napi_throw_error(env, nullptr, "pinhole_media: OpenSSL refused the AES-128-GCM key");
    return nullptr;
  }
  memcpy(receiver->salt, salt, kIvBytes);
  if (napi_wrap(env, self, receiver, finalize, nullptr, nullptr) != napi_ok) {
    finalize(env, receiver, nullptr);
    return nullptr;
  }
  return self;
}

/** unprotectRtcp(packet: Buffer, out: Buffer(packet.length - 20)): boolean — false: drop it. */
napi_value unprotectRtcpMethod(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_value self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  void* data = nullptr;
  void* packet = nullptr;
  void* out = nullptr;
  size_t length = 0;
  size_t outLength = 0;
  if (argc < 2 || napi_unwrap(env, self, &data) != napi_ok || data == nullptr ||
      napi_get_buffer_info(env, argv[0], &packet, &length) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &out, &outLength) != napi_ok) {
    napi_throw_type_error(env, nullptr, "pinhole_media: unprotectRtcp(packet, out)");
    return nullptr;
  }
  bool ok = length >= kTagBytes + kIndexBytes && outLength == length - kTagBytes - kIndexBytes &&
            unprotectRtcp(static_cast<Receiver*>(data), static_cast<uint8_t*>(packet), length,
                          static_cast<uint8_t*>(out));
  napi_value result;
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

/** unprotect(packet: Buffer, roc: number, out: Buffer(packet.length - 16)): boolean — false: drop it. */
napi_value unprotectMethod(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3;
  napi_value self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  void* data = nullptr;
  void* packet = nullptr;
  void* out = nullptr;
  size_t length = 0;
  size_t outLength = 0;
  uint32_t roc = 0;
  if (argc < 3 || napi_unwrap(env, self, &data) != napi_ok || data == nullptr ||
      napi_get_buffer_info(env, argv[0], &packet, &length) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &roc) != napi_ok ||
      napi_get_buffer_info(env, argv[2], &out, &outLength) != napi_ok) {
    napi_throw_type_error(env, nullptr, "pinhole_media: unprotect(packet, roc, out)");
    return nullptr;
  }
  bool ok = length >= kTagBytes && outLength == length - kTagBytes &&
            unprotect(static_cast<Receiver*>(data), static_cast<uint8_t*>(packet), length, roc,
                      static_cast<uint8_t*>(out));
  napi_value result;
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

}  // namespace

napi_status defineSrtpGcmReceiver(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"unprotect", nullptr, unprotectMethod, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unprotectRtcp", nullptr, unprotectRtcpMethod, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value cls;
  napi_status status =
      napi_define_class(env, "SrtpGcmReceiver", NAPI_AUTO_LENGTH, construct, nullptr, 2, methods, &cls);
  if (status != napi_ok) return status;
  return napi_set_named_property(env, exports, "SrtpGcmReceiver", cls);
}
