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

#include "srtp_in.h"
#include "srtp_session.h"
#include "udp_address.h"

namespace {

using srtp_gcm::Fields;
using srtp_gcm::kMaxHeader;
using srtp_gcm::kTagBytes;
constexpr size_t kMaxArgs = 12;

#define CHECK(call)                        \
  do {                                     \
    if ((call) != napi_ok) return nullptr; \
  } while (0)

struct Sender : srtp_gcm::Session {
  std::vector<uint8_t> scratch;
};

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
  return srtp_gcm::constructSession<Sender>(env, info, true);
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
  return udp_address::toSockaddr(text, port, out, len);
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
