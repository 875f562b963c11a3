// pinhole_media's SRTP receive (srtp_in.cc), registered by the addon's init in srtp_out.cc.
#pragma once

#include <node_api.h>

/** Adds the `SrtpGcmReceiver` class to `exports`. */
napi_status defineSrtpGcmReceiver(napi_env env, napi_value exports);
