// The conference server's SRTP send for a forwarded RTP packet (src/sfu/media/srtpOut.ts documents it):
// the RTP header written into a scratch buffer, the payload encrypted behind it with AEAD_AES_128_GCM
// (RFC 7714) by an OpenSSL context keyed once per SRTP session (only the IV changes per packet; node:crypto
// makes and keys a new context per packet), and sendto on the subscriber's UDP socket, so a packet costs
// no JavaScript buffer and no trip through dgram. OpenSSL comes from the Node process (its headers ship with
// Node's); the TypeScript loader opens this file with RTLD_NOW, so a runtime without those symbols
// (Electron's BoringSSL) fails at load and the server stays on node:crypto.
#include <arpa/inet.h>
#include <errno.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>

#include <vector>

#include "srtp_gcm.h"
#include "srtp_in.h"

namespace {

using srtp_gcm::Fields;
using srtp_gcm::kIvBytes;
using srtp_gcm::kKeyBytes;
using srtp_gcm::kMaxHeader;
using srtp_gcm::kTagBytes;
constexpr size_t kMaxArgs = 12;

#define CHECK(call)                        \
  do {                                     \
    if ((call) != napi_ok) return nullptr; \
  } while (0)

struct Sender {
  EVP_CIPHER_CTX* ctx = nullptr;
  uint8_t salt[kIvBytes];
  std::vector<uint8_t> scratch;
};

void finalize(napi_env, void* data, void*) {
  auto* sender = static_cast<Sender*>(data);
  EVP_CIPHER_CTX_free(sender->ctx);
  delete sender;
}

uint32_t u32(napi_env env, napi_value value) {
  uint32_t out = 0;
  napi_get_value_uint32(env, value, &out);
  return out;
}

/** The whole SRTP packet into the sender's scratch buffer; its length, or 0 when OpenSSL refused. */
size_t protect(Sender* s, const Fields& f, const uint8_t* payload, size_t length) {
  size_t total = kMaxHeader + length + kTagBytes;
  if (s->scratch.size() < total) s->scratch.resize(total);
  return srtp_gcm::protect(s->ctx, s->salt, f, payload, length, s->scratch.data());
}

struct Call {
  napi_value argv[kMaxArgs];
  size_t argc = kMaxArgs;
  Sender* sender = nullptr;
};

bool getCall(napi_env env, napi_callback_info info, Call* call, size_t needed) {
  napi_value self;
  if (napi_get_cb_info(env, info, &call->argc, call->argv, &self, nullptr) != napi_ok) return false;
  if (call->argc < needed) {
    napi_throw_type_error(env, nullptr, "pinhole_media: too few arguments");
    return false;
  }
  void* data = nullptr;
  if (napi_unwrap(env, self, &data) != napi_ok || data == nullptr) return false;
  call->sender = static_cast<Sender*>(data);
  return true;
}

/** Fields from argv[at..at+5], payload from argv[at+6]. */
bool readPacket(napi_env env, const Call& call, size_t at, Fields* f, void** payload, size_t* length) {
  f->flags = u32(env, call.argv[at]);
  f->sequence = u32(env, call.argv[at + 1]);
  f->timestamp = u32(env, call.argv[at + 2]);
  f->ssrc = u32(env, call.argv[at + 3]);
  f->roc = u32(env, call.argv[at + 4]);
  f->twcc = u32(env, call.argv[at + 5]);
  if (napi_get_buffer_info(env, call.argv[at + 6], payload, length) != napi_ok) {
    napi_throw_type_error(env, nullptr, "pinhole_media: the payload must be a Buffer");
    return false;
  }
  return true;
}

/** new SrtpGcmSender(key: Buffer(16), salt: Buffer(>= 12)) */
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
  auto* sender = new Sender();
  sender->ctx = srtp_gcm::newContext(static_cast<uint8_t*>(key));
  if (sender->ctx == nullptr) {
    delete sender;
    napi_throw_error(env, nullptr, "pinhole_media: OpenSSL refused the AES-128-GCM key");
    return nullptr;
  }
  memcpy(sender->salt, salt, kIvBytes);
  if (napi_wrap(env, self, sender, finalize, nullptr, nullptr) != napi_ok) {
    finalize(env, sender, nullptr);
    return nullptr;
  }
  return self;
}

/** protect(flags, seq, ts, ssrc, roc, twcc, payload): Buffer — the SRTP packet (a copy). */
napi_value protectMethod(napi_env env, napi_callback_info info) {
  Call call;
  if (!getCall(env, info, &call, 7)) return nullptr;
  Fields f;
  void* payload;
  size_t length;
  if (!readPacket(env, call, 0, &f, &payload, &length)) return nullptr;
  size_t total = protect(call.sender, f, static_cast<uint8_t*>(payload), length);
  if (total == 0) {
    napi_throw_error(env, nullptr, "pinhole_media: encryption failed");
    return nullptr;
  }
  napi_value out;
  CHECK(napi_create_buffer_copy(env, total, call.sender->scratch.data(), nullptr, &out));
  return out;
}

bool toSockaddr(napi_env env, napi_value ip, uint32_t port, sockaddr_storage* out, socklen_t* len) {
  char text[64];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, ip, text, sizeof text, &n) != napi_ok) return false;
  memset(out, 0, sizeof *out);
  auto* in = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

/** send(fd, address, port, flags, seq, ts, ssrc, roc, twcc, payload): number — the bytes sendto wrote,
 *  or -errno (nothing was sent; the caller sends the same bytes through dgram, which queues on EAGAIN). */
napi_value sendMethod(napi_env env, napi_callback_info info) {
  Call call;
  if (!getCall(env, info, &call, 10)) return nullptr;
  Fields f;
  void* payload;
  size_t length;
  if (!readPacket(env, call, 3, &f, &payload, &length)) return nullptr;
  int32_t fd = -1;
  napi_get_value_int32(env, call.argv[0], &fd);
  sockaddr_storage to;
  socklen_t toLength = 0;
  double result = -EINVAL;
  if (fd >= 0 && toSockaddr(env, call.argv[1], u32(env, call.argv[2]), &to, &toLength)) {
    size_t total = protect(call.sender, f, static_cast<uint8_t*>(payload), length);
    if (total == 0) {
      result = -EPROTO;
    } else {
      ssize_t sent = sendto(fd, call.sender->scratch.data(), total, MSG_DONTWAIT,
                            reinterpret_cast<sockaddr*>(&to), toLength);
      result = sent < 0 ? -errno : static_cast<double>(sent);
    }
  }
  napi_value out;
  CHECK(napi_create_double(env, result, &out));
  return out;
}

/** The binding's ABI version (src/platform/mediaAddon.ts checks it); bumped when a method's contract changes. */
constexpr int32_t kAbiVersion = 3;

napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"protect", nullptr, protectMethod, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"send", nullptr, sendMethod, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value cls;
  CHECK(napi_define_class(env, "SrtpGcmSender", NAPI_AUTO_LENGTH, construct, nullptr, 2, methods, &cls));
  CHECK(napi_set_named_property(env, exports, "SrtpGcmSender", cls));
  CHECK(defineSrtpGcmReceiver(env, exports));
  napi_value version;
  CHECK(napi_create_int32(env, kAbiVersion, &version));
  CHECK(napi_set_named_property(env, exports, "abiVersion", version));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
