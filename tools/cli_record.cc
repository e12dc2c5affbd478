#include "tools/cli_record.h"

#include <algorithm>
#include <cstdint>
#include <future>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "grpcpp/support/stub_options.h"
#include "throughline/cpd/v1/appraisal.pb.h"
#include "throughline/cpd/v1/coaching.pb.h"
#include "throughline/cpd/v1/observation.pb.h"
#include "throughline/cpd/v1/organisation.pb.h"
#include "throughline/cpd/v1/planning.pb.h"
#include "throughline/cpd/v1/programme.pb.h"
#include "throughline/cpd/v1/staff.pb.h"

namespace throughline::cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using google::protobuf::Reflection;
using google::protobuf::ServiceDescriptor;

constexpr char kTimestampType[] = "google.protobuf.Timestamp";

// Generated code registers its descriptors in the generated pool only when
// its object file is linked in, and a static library's object files are
// linked only when referenced. Touching one message of each .proto that
// declares a CPD service links them all; everything else is found through
// the pool, generically.
void LinkCpdDescriptors() {
  namespace v1 = ::throughline::cpd::v1;
  static const bool linked = [] {
    const Descriptor* anchors[] = {
        v1::RegisterTrustRequest::descriptor(),
        v1::RecordStaffJoinedRequest::descriptor(),
        v1::RecordObservationRequest::descriptor(),
        v1::RecordCoachingConversationRequest::descriptor(),
        v1::SetAppraisalGoalRequest::descriptor(),
        v1::LaunchProgrammeRequest::descriptor(),
        v1::AdoptImprovementPriorityRequest::descriptor(),
    };
    return anchors[0] != nullptr;
  }();
  (void)linked;
}

std::vector<const ServiceDescriptor*> CpdServices() {
  LinkCpdDescriptors();
  std::vector<std::string> files;
  DescriptorPool::internal_generated_database()->FindAllFileNames(&files);
  std::vector<const ServiceDescriptor*> services;
  for (const std::string& name : files) {
    const FileDescriptor* file =
        DescriptorPool::generated_pool()->FindFileByName(name);
    if (file == nullptr || file->package() != kCpdPackage) continue;
    for (int i = 0; i < file->service_count(); ++i) {
      services.push_back(file->service(i));
    }
  }
  std::sort(services.begin(), services.end(),
            [](const ServiceDescriptor* a, const ServiceDescriptor* b) {
              return a->name() < b->name();
            });
  return services;
}

bool IsRecording(const MethodDescriptor& method) {
  return method.output_type()->full_name() == kRecordResponseType;
}

bool IsTimestamp(const FieldDescriptor& field) {
  return field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         field.message_type()->full_name() == kTimestampType;
}

// "StaffRole" -> "STAFF_ROLE".
std::string UpperSnake(absl::string_view camel) {
  std::string result;
  for (size_t i = 0; i < camel.size(); ++i) {
    const char c = camel[i];
    if (i > 0 && absl::ascii_isupper(static_cast<unsigned char>(c)) &&
        !absl::ascii_isupper(static_cast<unsigned char>(camel[i - 1]))) {
      result.push_back('_');
    }
    result.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
  }
  return result;
}

// The value names of `type` without the type's prefix, for messages.
std::string EnumValueList(const EnumDescriptor& type) {
  const std::string prefix = UpperSnake(type.name()) + "_";
  std::vector<std::string> names;
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i)->number() == 0) continue;  // UNSPECIFIED
    absl::string_view name = type.value(i)->name();
    absl::ConsumePrefix(&name, prefix);
    std::string lower = absl::AsciiStrToLower(name);
    std::replace(lower.begin(), lower.end(), '_', '-');
    names.push_back(std::move(lower));
  }
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<int> ParseEnum(const EnumDescriptor& type,
                              absl::string_view text) {
  if (const auto* value = type.FindValueByName(std::string(text))) {
    return value->number();
  }
  std::string normal = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  std::replace(normal.begin(), normal.end(), '-', '_');
  std::replace(normal.begin(), normal.end(), ' ', '_');
  if (!normal.empty()) {
    if (const auto* value = type.FindValueByName(normal)) {
      return value->number();
    }
    const std::string prefix = UpperSnake(type.name()) + "_";
    if (const auto* value = type.FindValueByName(prefix + normal)) {
      return value->number();
    }
    // A unique value ending in "_<text>", e.g. "modelling" for
    // MECHANISM_C_MODELLING.
    const google::protobuf::EnumValueDescriptor* found = nullptr;
    int matches = 0;
    for (int i = 0; i < type.value_count(); ++i) {
      if (absl::EndsWith(type.value(i)->name(), "_" + normal)) {
        found = type.value(i);
        ++matches;
      }
    }
    if (matches == 1) return found->number();
  }
  int number = 0;
  if (absl::SimpleAtoi(text, &number) &&
      type.FindValueByNumber(number) != nullptr) {
    return number;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\" is not a value of ", type.name(),
                   " (one of ", EnumValueList(type), ")"));
}

bool ParseBool(absl::string_view text, bool* out) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "true" || lower == "1" || lower == "yes") {
    *out = true;
  } else if (lower == "false" || lower == "0" || lower == "no") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

template <typename T>
bool ParseInteger(absl::string_view text, T* out) {
  if constexpr (std::is_signed_v<T>) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(text, &value) ||
        value < std::numeric_limits<T>::min() ||
        value > std::numeric_limits<T>::max()) {
      return false;
    }
    *out = static_cast<T>(value);
  } else {
    uint64_t value = 0;
    if (text.empty() || text[0] == '-' || !absl::SimpleAtoi(text, &value) ||
        value > std::numeric_limits<T>::max()) {
      return false;
    }
    *out = static_cast<T>(value);
  }
  return true;
}

// What a field holds, for messages and listings.
std::string TypeName(const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return IsTimestamp(field) ? "Timestamp" : field.message_type()->name();
    case FieldDescriptor::CPPTYPE_ENUM:
      return field.enum_type()->name();
    default:
      return field.type_name();
  }
}

// Sets (index < 0: the singular field; index == size: appends; otherwise
// replaces element `index` of) scalar `field` from `text`.
absl::Status SetScalar(const FieldDescriptor& field, int index,
                       absl::string_view text, Message* message) {
  const Reflection& r = *message->GetReflection();
  const bool repeated = field.is_repeated();
  const bool add = repeated && index == r.FieldSize(*message, &field);
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not ", what));
  };
// Sets the value through the Set/Add/SetRepeated reflection call of a type.
#define THROUGHLINE_SET(Kind, value)                      \
  do {                                                    \
    if (!repeated) {                                      \
      r.Set##Kind(message, &field, value);                \
    } else if (add) {                                     \
      r.Add##Kind(message, &field, value);                \
    } else {                                              \
      r.SetRepeated##Kind(message, &field, index, value); \
    }                                                     \
  } while (false)
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      THROUGHLINE_SET(String, std::string(text));
      break;
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool value = false;
      if (!ParseBool(text, &value)) return bad("true or false");
      THROUGHLINE_SET(Bool, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t value = 0;
      if (!ParseInteger(text, &value)) return bad("a 32-bit integer");
      THROUGHLINE_SET(Int32, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t value = 0;
      if (!ParseInteger(text, &value)) return bad("a 64-bit integer");
      THROUGHLINE_SET(Int64, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t value = 0;
      if (!ParseInteger(text, &value)) {
        return bad("a non-negative 32-bit integer");
      }
      THROUGHLINE_SET(UInt32, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t value = 0;
      if (!ParseInteger(text, &value)) {
        return bad("a non-negative 64-bit integer");
      }
      THROUGHLINE_SET(UInt64, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double value = 0;
      if (!absl::SimpleAtod(text, &value)) return bad("a number");
      THROUGHLINE_SET(Double, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float value = 0;
      if (!absl::SimpleAtof(text, &value)) return bad("a number");
      THROUGHLINE_SET(Float, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      absl::StatusOr<int> value = ParseEnum(*field.enum_type(), text);
      if (!value.ok()) return value.status();
      THROUGHLINE_SET(EnumValue, *value);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return absl::InternalError("SetScalar on a message field");
  }
#undef THROUGHLINE_SET
  return absl::OkStatus();
}

// `message` (a Timestamp of any pool) set to the RFC 3339 time `text`.
absl::Status SetTimestamp(absl::string_view text, Message* message) {
  google::protobuf::Timestamp timestamp;
  if (!google::protobuf::util::TimeUtil::FromString(
          std::string(absl::StripAsciiWhitespace(text)), &timestamp)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not an RFC 3339 time such as 2025-09-01T09:00:00Z"));
  }
  message->ParseFromString(timestamp.SerializeAsString());
  return absl::OkStatus();
}

bool LooksLikeJson(absl::string_view value) {
  value = absl::StripLeadingAsciiWhitespace(value);
  return !value.empty() &&
         (value[0] == '{' || value[0] == '[' || value[0] == '"');
}

// Replaces `field` of `message` with the JSON `value`, parsed as that field
// of the message's JSON form.
absl::Status SetFieldFromJson(const FieldDescriptor& field,
                              absl::string_view value, Message* message) {
  std::unique_ptr<Message> holder(message->New());
  const std::string json =
      absl::StrCat("{\"", field.json_name(), "\": ", value, "}");
  google::protobuf::util::JsonParseOptions options;
  const auto status =
      google::protobuf::util::JsonStringToMessage(json, holder.get(), options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not valid JSON for ", field.is_repeated() ? "a list of " : "",
        TypeName(field), ": ", status.message().ToString()));
  }
  message->GetReflection()->ClearField(message, &field);
  message->MergeFrom(*holder);
  return absl::OkStatus();
}

const FieldDescriptor* FindField(const Descriptor& type,
                                 absl::string_view name) {
  if (const FieldDescriptor* field = type.FindFieldByName(std::string(name))) {
    return field;
  }
  for (int i = 0; i < type.field_count(); ++i) {
    if (type.field(i)->json_name() == name) return type.field(i);
  }
  return nullptr;
}

std::string FieldList(const Descriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.field_count(); ++i) {
    names.push_back(type.field(i)->name());
  }
  return absl::StrJoin(names, ", ");
}

struct PathPart {
  std::string name;
  std::optional<std::string> subscript;  // "[...]" content.
};

absl::StatusOr<std::vector<PathPart>> ParsePath(absl::string_view path) {
  std::vector<PathPart> parts;
  size_t i = 0;
  while (true) {
    PathPart part;
    while (i < path.size() && path[i] != '.' && path[i] != '[') {
      part.name.push_back(path[i++]);
    }
    if (part.name.empty()) {
      return absl::InvalidArgumentError("empty field name");
    }
    if (i < path.size() && path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == absl::string_view::npos) {
        return absl::InvalidArgumentError("'[' without ']'");
      }
      part.subscript = std::string(path.substr(i + 1, close - i - 1));
      i = close + 1;
    }
    parts.push_back(std::move(part));
    if (i == path.size()) return parts;
    if (path[i] != '.') {
      return absl::InvalidArgumentError(
          absl::StrCat("expected '.' after \"", path.substr(0, i), "\""));
    }
    ++i;
  }
}

// The map entry of `field` (a map) with key `key`, added when missing.
absl::StatusOr<Message*> MapEntry(const FieldDescriptor& field,
                                  absl::string_view key, Message* message) {
  const Reflection& r = *message->GetReflection();
  const FieldDescriptor* key_field = field.message_type()->map_key();
  for (int i = 0; i < r.FieldSize(*message, &field); ++i) {
    Message* entry = r.MutableRepeatedMessage(message, &field, i);
    const Reflection& er = *entry->GetReflection();
    std::string existing;
    if (key_field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      existing = er.GetString(*entry, key_field);
    } else {
      continue;  // Non-string keys: compared after parsing below.
    }
    if (existing == key) return entry;
  }
  Message* entry = r.AddMessage(message, &field);
  absl::Status set = SetScalar(*key_field, -1, key, entry);
  if (!set.ok()) {
    r.RemoveLast(message, &field);
    return set;
  }
  return entry;
}

absl::StatusOr<int> ParseIndex(const FieldDescriptor& field,
                               absl::string_view subscript, int size) {
  int index = 0;
  if (!absl::SimpleAtoi(subscript, &index) || index < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("[", subscript, "] is not an index"));
  }
  if (index > size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "index ", index, " is past the end (", field.name(), " has ", size,
        size == 1 ? " element" : " elements", "; use [", size, "] to append)"));
  }
  return index;
}

// Sets the last field of a path.
absl::Status SetLast(const FieldDescriptor& field,
                     const std::optional<std::string>& subscript,
                     absl::string_view value, Message* message) {
  const Reflection& r = *message->GetReflection();
  const bool is_message = field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
  if (field.is_map()) {
    if (!subscript.has_value()) return SetFieldFromJson(field, value, message);
    absl::StatusOr<Message*> entry = MapEntry(field, *subscript, message);
    if (!entry.ok()) return entry.status();
    const FieldDescriptor* value_field = field.message_type()->map_value();
    if (value_field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return SetFieldFromJson(*value_field, value, *entry);
    }
    return SetScalar(*value_field, -1, value, *entry);
  }
  if (field.is_repeated()) {
    if (subscript.has_value()) {
      absl::StatusOr<int> index =
          ParseIndex(field, *subscript, r.FieldSize(*message, &field));
      if (!index.ok()) return index.status();
      if (!is_message) return SetScalar(field, *index, value, message);
      Message* element =
          *index == r.FieldSize(*message, &field)
              ? r.AddMessage(message, &field)
              : r.MutableRepeatedMessage(message, &field, *index);
      if (IsTimestamp(field) && !LooksLikeJson(value)) {
        return SetTimestamp(value, element);
      }
      std::unique_ptr<Message> parsed(element->New());
      absl::Status status = MergeJson(value, parsed.get());
      if (!status.ok()) return status;
      element->CopyFrom(*parsed);
      return absl::OkStatus();
    }
    if (is_message && LooksLikeJson(value)) {
      absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(value);
      // A single object appends one element.
      if (trimmed[0] == '{') {
        Message* element = r.AddMessage(message, &field);
        std::unique_ptr<Message> parsed(element->New());
        absl::Status status = MergeJson(value, parsed.get());
        if (!status.ok()) {
          r.RemoveLast(message, &field);
          return status;
        }
        element->CopyFrom(*parsed);
        return absl::OkStatus();
      }
      return SetFieldFromJson(field, value, message);
    }
    if (is_message && !IsTimestamp(field)) {
      return absl::InvalidArgumentError(
          absl::StrCat("is a list of ", TypeName(field),
                       ": give JSON (an array, or an "
                       "object to append one), or set one element's fields as ",
                       field.name(), "[0].<field>=..."));
    }
    r.ClearField(message, &field);
    if (value.empty()) return absl::OkStatus();
    for (absl::string_view item : absl::StrSplit(value, ',')) {
      item = absl::StripAsciiWhitespace(item);
      absl::Status status =
          is_message
              ? SetTimestamp(item, r.AddMessage(message, &field))
              : SetScalar(field, r.FieldSize(*message, &field), item, message);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  if (subscript.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "is not a repeated or map field: drop [", *subscript, "]"));
  }
  if (is_message) {
    if (IsTimestamp(field) && !LooksLikeJson(value)) {
      return SetTimestamp(value, r.MutableMessage(message, &field));
    }
    if (LooksLikeJson(value)) return SetFieldFromJson(field, value, message);
    return absl::InvalidArgumentError(absl::StrCat(
        "is a ", TypeName(field), " message: set its fields (", field.name(),
        ".<field>=...; fields: ", FieldList(*field.message_type()),
        ") or give it as a JSON object"));
  }
  return SetScalar(field, -1, value, message);
}

void DescribeFields(const Descriptor& type, const std::string& prefix,
                    int depth, std::vector<std::string>* lines) {
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    std::string path = absl::StrCat(prefix, field.name());
    std::string note;
    if (field.containing_oneof() != nullptr) {
      note = absl::StrCat("  (one of ", field.containing_oneof()->name(), ")");
    }
    if (field.is_map()) {
      lines->push_back(absl::StrCat(
          "  ", path, "[key]  map<", TypeName(*field.message_type()->map_key()),
          ", ", TypeName(*field.message_type()->map_value()), ">", note));
      continue;
    }
    const bool message = field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (message && !IsTimestamp(field) && depth < 8) {
      if (field.is_repeated()) path += "[i]";
      DescribeFields(*field.message_type(), path + ".", depth + 1, lines);
      continue;
    }
    std::string what = TypeName(field);
    if (IsTimestamp(field)) what = "Timestamp (RFC 3339)";
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
      what = absl::StrCat(what, ": ", EnumValueList(*field.enum_type()));
    }
    if (field.is_repeated()) {
      what = absl::StrCat("repeated ", what, " (comma-separated)");
    }
    lines->push_back(absl::StrCat("  ", path, "  ", what, note));
  }
}

}  // namespace

std::vector<const MethodDescriptor*> CpdMethods() {
  std::vector<const MethodDescriptor*> methods;
  for (const ServiceDescriptor* service : CpdServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* method = service->method(i);
      if (method->client_streaming() || method->server_streaming()) continue;
      methods.push_back(method);
    }
  }
  return methods;
}

std::vector<const MethodDescriptor*> RecordingMethods() {
  std::vector<const MethodDescriptor*> methods;
  for (const MethodDescriptor* method : CpdMethods()) {
    if (IsRecording(*method)) methods.push_back(method);
  }
  return methods;
}

absl::StatusOr<const MethodDescriptor*> FindCpdMethod(absl::string_view name,
                                                      bool recording_only) {
  absl::string_view wanted = name;
  absl::ConsumePrefix(&wanted, absl::StrCat(kCpdPackage, "."));
  std::vector<const MethodDescriptor*> candidates =
      recording_only ? RecordingMethods() : CpdMethods();
  std::vector<const MethodDescriptor*> found;
  std::vector<std::string> near;
  for (const MethodDescriptor* method : candidates) {
    const std::string short_name = ShortMethodName(*method);
    if (wanted == method->name() || wanted == short_name) {
      found.push_back(method);
    } else if (absl::EqualsIgnoreCase(wanted, method->name()) ||
               absl::EqualsIgnoreCase(wanted, short_name)) {
      near.push_back(short_name);
    }
  }
  if (found.size() == 1) return found[0];
  if (found.size() > 1) {
    std::vector<std::string> names;
    for (const MethodDescriptor* method : found) {
      names.push_back(ShortMethodName(*method));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "RPC \"", name, "\" is ambiguous: say ", absl::StrJoin(names, " or ")));
  }
  std::string hint;
  if (!near.empty()) {
    hint = absl::StrCat(" (did you mean ", absl::StrJoin(near, " or "), "?)");
  } else if (recording_only) {
    absl::StatusOr<const MethodDescriptor*> other =
        FindCpdMethod(name, /*recording_only=*/false);
    if (other.ok()) {
      hint = absl::StrCat(" (", ShortMethodName(**other),
                          " reads rather than records)");
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown RPC \"", name, "\"", hint,
                   "; 'throughline record --list' lists the recording RPCs"));
}

std::string ShortMethodName(const MethodDescriptor& method) {
  return absl::StrCat(method.service()->name(), ".", method.name());
}

std::string MethodPath(const MethodDescriptor& method) {
  return absl::StrCat("/", method.service()->full_name(), "/", method.name());
}

std::unique_ptr<Message> NewMessage(const Descriptor& type) {
  if (const Message* prototype =
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(
              &type)) {
    return std::unique_ptr<Message>(prototype->New());
  }
  static auto* dynamic = new google::protobuf::DynamicMessageFactory();
  return std::unique_ptr<Message>(dynamic->GetPrototype(&type)->New());
}

absl::Status MergeJson(absl::string_view json, Message* message) {
  std::unique_ptr<Message> parsed(message->New());
  google::protobuf::util::JsonParseOptions options;
  const auto status = google::protobuf::util::JsonStringToMessage(
      std::string(json), parsed.get(), options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON for ", message->GetDescriptor()->name(),
                     ": ", status.message().ToString()));
  }
  message->MergeFrom(*parsed);
  return absl::OkStatus();
}

absl::Status SetField(absl::string_view path, absl::string_view value,
                      Message* message) {
  auto error = [&](absl::string_view at, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(at, ": ", why));
  };
  absl::StatusOr<std::vector<PathPart>> parts = ParsePath(path);
  if (!parts.ok()) {
    return error(absl::StrCat("bad field path \"", path, "\""),
                 parts.status().message());
  }
  Message* current = message;
  std::string walked;
  for (size_t i = 0; i < parts->size(); ++i) {
    const PathPart& part = (*parts)[i];
    const Descriptor& type = *current->GetDescriptor();
    const FieldDescriptor* field = FindField(type, part.name);
    if (field == nullptr) {
      return error(
          absl::StrCat("bad field path \"", path, "\""),
          absl::StrCat(
              walked.empty() ? type.name() : walked,
              walked.empty() ? "" : absl::StrCat(" (", type.name(), ")"),
              " has no field \"", part.name,
              "\"; its fields are: ", FieldList(type)));
    }
    walked = walked.empty() ? field->name()
                            : absl::StrCat(walked, ".", field->name());
    if (part.subscript.has_value()) {
      absl::StrAppend(&walked, "[", *part.subscript, "]");
    }
    if (i + 1 == parts->size()) {
      absl::Status status = SetLast(*field, part.subscript, value, current);
      if (!status.ok()) return error(walked, status.message());
      return absl::OkStatus();
    }
    // Descend.
    const Reflection& r = *current->GetReflection();
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return error(absl::StrCat("bad field path \"", path, "\""),
                   absl::StrCat(walked, " is a ", TypeName(*field),
                                ", not a message with fields"));
    }
    if (field->is_map()) {
      const FieldDescriptor* value_field = field->message_type()->map_value();
      if (!part.subscript.has_value() ||
          value_field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        return error(absl::StrCat("bad field path \"", path, "\""),
                     absl::StrCat(walked, " is a map: set an entry as ",
                                  field->name(), "[key]=value"));
      }
      absl::StatusOr<Message*> entry =
          MapEntry(*field, *part.subscript, current);
      if (!entry.ok()) return error(walked, entry.status().message());
      current = (*entry)->GetReflection()->MutableMessage(*entry, value_field);
    } else if (field->is_repeated()) {
      if (!part.subscript.has_value()) {
        return error(absl::StrCat("bad field path \"", path, "\""),
                     absl::StrCat(walked, " is a list: give an index, e.g. ",
                                  field->name(), "[0]"));
      }
      const int size = r.FieldSize(*current, field);
      absl::StatusOr<int> index = ParseIndex(*field, *part.subscript, size);
      if (!index.ok()) return error(walked, index.status().message());
      current = *index == size
                    ? r.AddMessage(current, field)
                    : r.MutableRepeatedMessage(current, field, *index);
    } else {
      if (part.subscript.has_value()) {
        return error(walked, "is not a repeated or map field");
      }
      current = r.MutableMessage(current, field);
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyAssignment(absl::string_view assignment, Message* message) {
  const size_t equals = assignment.find('=');
  if (equals == absl::string_view::npos || equals == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", assignment, "\" is not a field.path=value assignment"));
  }
  return SetField(assignment.substr(0, equals), assignment.substr(equals + 1),
                  message);
}

std::vector<std::string> DescribeRecordingMethods() {
  std::vector<std::string> lines;
  for (const MethodDescriptor* method : RecordingMethods()) {
    const Descriptor& request = *method->input_type();
    std::vector<std::string> fields;
    for (int i = 0; i < request.field_count(); ++i) {
      const FieldDescriptor& field = *request.field(i);
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
          !IsTimestamp(field)) {
        fields.push_back(absl::StrCat(field.name(), " (", TypeName(field),
                                      field.is_repeated() ? ", repeated" : "",
                                      ")"));
      } else {
        fields.push_back(field.name());
      }
    }
    lines.push_back(absl::StrCat(ShortMethodName(*method), "  ",
                                 absl::StrJoin(fields, ", ")));
  }
  return lines;
}

std::vector<std::string> DescribeRequestFields(const MethodDescriptor& method) {
  std::vector<std::string> lines = {
      absl::StrCat(ShortMethodName(method), " (", method.input_type()->name(),
                   " -> ", method.output_type()->name(), "):")};
  DescribeFields(*method.input_type(), "", 0, &lines);
  return lines;
}

std::string PayloadTypeName(const Message& request) {
  const Descriptor& type = *request.GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        !field.is_repeated() && !IsTimestamp(field)) {
      return field.message_type()->name();
    }
  }
  return "";
}

void AddCallMetadata(const CallMetadata& metadata,
                     grpc::ClientContext* context) {
  if (!metadata.token.empty()) {
    context->AddMetadata("authorization",
                         absl::StrCat("Bearer ", metadata.token));
  }
  if (!metadata.actor.empty()) {
    context->AddMetadata("throughline-actor", metadata.actor);
  }
  if (!metadata.source_platform.empty()) {
    context->AddMetadata("throughline-source-platform",
                         metadata.source_platform);
  }
}

grpc::Status CallUnary(const std::shared_ptr<grpc::Channel>& channel,
                       grpc::ClientContext* context,
                       const MethodDescriptor& method, const Message& request,
                       Message* response) {
  std::string bytes;
  if (!request.SerializeToString(&bytes)) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "cannot serialize the request");
  }
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::GenericStub stub(channel);
  std::promise<grpc::Status> done;
  std::future<grpc::Status> result = done.get_future();
  stub.UnaryCall(context, MethodPath(method), grpc::StubOptions(),
                 &request_buffer, &response_buffer,
                 [&done](grpc::Status status) { done.set_value(status); });
  grpc::Status status = result.get();
  if (!status.ok()) return status;
  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the response");
  }
  std::string reply;
  for (const grpc::Slice& part : slices) {
    reply.append(reinterpret_cast<const char*>(part.begin()), part.size());
  }
  if (!response->ParseFromString(reply)) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        absl::StrCat("cannot parse the response as ",
                                     response->GetDescriptor()->full_name()));
  }
  return grpc::Status::OK;
}

}  // namespace throughline::cli
