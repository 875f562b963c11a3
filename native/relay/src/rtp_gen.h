// bench:cluster's native publisher (rtp_gen.cc), registered on the pinhole_rtp_sink addon's exports.
#pragma once

#include <node_api.h>

/** Adds `Publisher` and `pump` to `exports`; false when N-API refused. */
bool registerPublisher(napi_env env, napi_value exports);

struct Counting;
struct RtcpIn;

/** The counts and the received sender reports of an RtpSink object (rtp_sink.cc); false if `value` is not one. */
bool sinkState(napi_env env, napi_value value, Counting** counting, RtcpIn** rtcp);
