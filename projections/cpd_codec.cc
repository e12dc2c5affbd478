#include "projections/cpd_codec.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/reflection.h"

namespace throughline::projections {
namespace {

using google::protobuf::FieldDescriptor;

// Message name -> field of the CpdEvent oneof holding it.
const absl::flat_hash_map<std::string, const FieldDescriptor*>& FieldsByType() {
  static const auto* fields = [] {
    auto* map = new absl::flat_hash_map<std::string, const FieldDescriptor*>;
    const google::protobuf::OneofDescriptor* oneof =
        cpd::CpdEvent::descriptor()->FindOneofByName("event");
    for (int i = 0; i < oneof->field_count(); ++i) {
      const FieldDescriptor* field = oneof->field(i);
      (*map)[field->message_type()->name()] = field;
    }
    return map;
  }();
  return *fields;
}

const FieldDescriptor* SetField(const cpd::CpdEvent& event) {
  return cpd::CpdEvent::descriptor()->FindFieldByNumber(event.event_case());
}

}  // namespace

std::string CpdContentType(const std::string& type) {
  return absl::StrCat("application/x-protobuf; proto=throughline.cpd.v1.",
                      type);
}

std::string CpdEventType(const cpd::CpdEvent& event) {
  return SetField(event)->message_type()->name();
}

void EncodeCpdEvent(const cpd::CpdEvent& event,
                    eventstore::ProposedEvent* proposed) {
  const FieldDescriptor* field = SetField(event);
  proposed->type = field->message_type()->name();
  proposed->content_type = CpdContentType(proposed->type);
  const google::protobuf::Message& message =
      event.GetReflection()->GetMessage(event, field);
  proposed->data.clear();
  google::protobuf::io::StringOutputStream stream(&proposed->data);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
}

absl::StatusOr<cpd::CpdEvent> DecodeCpdEvent(
    const eventstore::EventRecord& record) {
  const auto& fields = FieldsByType();
  auto it = fields.find(record.type());
  if (it == fields.end()) {
    return absl::NotFoundError(
        absl::StrCat("\"", record.type(), "\" is not a CPD event type"));
  }
  cpd::CpdEvent event;
  google::protobuf::Message* message =
      event.GetReflection()->MutableMessage(&event, it->second);
  if (!message->ParseFromString(record.data())) {
    return absl::DataLossError(
        absl::StrCat("the data of a ", record.type(), " event does not parse"));
  }
  return event;
}

}  // namespace throughline::projections
