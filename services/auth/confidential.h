// Confidential developmental records (docs/security.md): the free text of a
// peer observation or coaching conversation marked confidential is shown
// only to the people it is about and by — the observed and the observer,
// the coachee and the coach. Everyone else reading the log gets the record
// without that text.

#ifndef THROUGHLINE_SERVICES_AUTH_CONFIDENTIAL_H_
#define THROUGHLINE_SERVICES_AUTH_CONFIDENTIAL_H_

#include "absl/strings/string_view.h"
#include "services/auth/gate.h"
#include "throughline/eventstore/v1/eventstore.pb.h"

namespace throughline::services::auth {

// Removes from `event` (a stored event in its API form) the confidential
// text `caller` may not read; leaves any other event as it is.
void RedactForCaller(const Caller& caller,
                     ::throughline::eventstore::v1::RecordedEvent* event);

// False when RedactForCaller leaves every event of `type` as it is, for any
// caller: such an event may be sent as stored, without decoding it.
bool MayHoldConfidentialText(absl::string_view type);

}  // namespace throughline::services::auth

#endif  // THROUGHLINE_SERVICES_AUTH_CONFIDENTIAL_H_
