// One SRTP session's state in pinhole_media and the constructor its two classes share: the conference
// server's send (srtp_out.cc, SrtpGcmSender) and receive (srtp_in.cc, SrtpGcmReceiver) each key one OpenSSL
// context per session from the same (key, salt) arguments.
#pragma once

#include <node_api.h>
#include <string.h>

#include "srtp_gcm.h"

namespace srtp_gcm {

/** The keyed context and the salt the session's IVs are made with. */
struct Session {
  EVP_CIPHER_CTX* ctx = nullptr;
  uint8_t salt[kIvBytes];
};

template <class T>
void finalizeSession(napi_env, void* data, void*) {
  auto* session = static_cast<T*>(data);
  EVP_CIPHER_CTX_free(session->ctx);
  delete session;
}

/** new Class(key: Buffer(16), salt: Buffer(>= 12)): a T (a Session) keyed for `encrypt` wrapped in `this`. */
template <class T>
napi_value constructSession(napi_env env, napi_callback_info info, bool encrypt) {
  napi_value argv[2];
  size_t argc = 2;
  napi_value self;
  if (napi_get_cb_info(env, info, &argc, argv, &self, nullptr) != napi_ok) return nullptr;
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
  auto* session = new T();
  session->ctx = newContext(static_cast<uint8_t*>(key), encrypt);
  if (session->ctx == nullptr) {
    delete session;
    napi_throw_error(env, nullptr, "pinhole_media: OpenSSL refused the AES-128-GCM key");
    return nullptr;
  }
  memcpy(session->salt, salt, kIvBytes);
  if (napi_wrap(env, self, session, finalizeSession<T>, nullptr, nullptr) != napi_ok) {
    finalizeSession<T>(env, session, nullptr);
    return nullptr;
  }
  return self;
}

}  // namespace srtp_gcm
