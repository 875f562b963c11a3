// The conference server's SRTP receive for the RTP packets its participants publish and the RTCP they send
// (src/sfu/media/srtpIn.ts documents it): AEAD_AES_128_GCM (RFC 7714) verified and decrypted by an OpenSSL
// context keyed once per SRTP session, the mirror of srtp_out.cc's send (werift's decryption creates and
// keys a node:crypto context per packet and copies the packet three times). The output is what werift's
// decryption returns: the RTP header as received, the plaintext payload behind it, the tag cut off.
// Part of pinhole_media (srtp_out.cc's init registers the class).
#include "srtp_in.h"

#include <string.h>

#include "srtp_session.h"

namespace {

using srtp_gcm::get16;
using srtp_gcm::get32;
using srtp_gcm::kFixedHeader;
using srtp_gcm::kIvBytes;
using srtp_gcm::kTagBytes;
constexpr size_t kRtcpHeader = 8;
constexpr size_t kIndexBytes = 4;

#define CHECK(call)                        \
  do {                                     \
    if ((call) != napi_ok) return nullptr; \
  } while (0)

using Receiver = srtp_gcm::Session;

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
  uint8_t iv[kIvBytes];
  srtp_gcm::rtpIv(r->salt, get32(packet + 8), roc, get16(packet + 2), iv);
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
  uint8_t iv[kIvBytes];
  srtp_gcm::rtcpIv(r->salt, get32(packet + 4), word, iv);
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
  return srtp_gcm::constructSession<Receiver>(env, info, false);
}

/** A method's receiver, its packet (argv[0]) and output (argv[argc - 1]) Buffers; argv[1] is left to it. */
struct Call {
  napi_value argv[3];
  Receiver* receiver = nullptr;
  uint8_t* packet = nullptr;
  uint8_t* out = nullptr;
  size_t length = 0;
  size_t outLength = 0;
};

/** The call's `argc` arguments read into `call`, or false with `usage` thrown as a type error. */
bool getCall(napi_env env, napi_callback_info info, size_t argc, const char* usage, Call* call) {
  size_t given = argc;
  napi_value self;
  void* data = nullptr;
  void* packet = nullptr;
  void* out = nullptr;
  if (napi_get_cb_info(env, info, &given, call->argv, &self, nullptr) != napi_ok) return false;
  if (given < argc || napi_unwrap(env, self, &data) != napi_ok || data == nullptr ||
      napi_get_buffer_info(env, call->argv[0], &packet, &call->length) != napi_ok ||
      napi_get_buffer_info(env, call->argv[argc - 1], &out, &call->outLength) != napi_ok) {
    napi_throw_type_error(env, nullptr, usage);
    return false;
  }
  call->receiver = static_cast<Receiver*>(data);
  call->packet = static_cast<uint8_t*>(packet);
  call->out = static_cast<uint8_t*>(out);
  return true;
}

/** unprotectRtcp(packet: Buffer, out: Buffer(packet.length - 20)): boolean — false: drop it. */
napi_value unprotectRtcpMethod(napi_env env, napi_callback_info info) {
  Call call;
  if (!getCall(env, info, 2, "pinhole_media: unprotectRtcp(packet, out)", &call)) return nullptr;
  size_t length = call.length;
  bool ok = length >= kTagBytes + kIndexBytes && call.outLength == length - kTagBytes - kIndexBytes &&
            unprotectRtcp(call.receiver, call.packet, length, call.out);
  napi_value result;
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

/** unprotect(packet: Buffer, roc: number, out: Buffer(packet.length - 16)): boolean — false: drop it. */
napi_value unprotectMethod(napi_env env, napi_callback_info info) {
  Call call;
  const char* usage = "pinhole_media: unprotect(packet, roc, out)";
  if (!getCall(env, info, 3, usage, &call)) return nullptr;
  uint32_t roc = 0;
  if (napi_get_value_uint32(env, call.argv[1], &roc) != napi_ok) {
    napi_throw_type_error(env, nullptr, usage);
    return nullptr;
  }
  size_t length = call.length;
  bool ok = length >= kTagBytes && call.outLength == length - kTagBytes &&
            unprotect(call.receiver, call.packet, length, roc, call.out);
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
