#include "eventstore/format.h"

#include <openssl/evp.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"

namespace throughline::eventstore {
namespace {

constexpr char kSeparator = '\0';

bool IsStreamChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_' || c == '.' || c == ':' || c == '@';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads a base-128 varint from *p (before `end`), advancing *p.
bool ReadVarint(const char** p, const char* end, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(*(*p)++);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) {
      *value = result;
      return true;
    }
  }
  return false;
}

}  // namespace

bool ParseEventRecordView(absl::string_view stored, EventRecordView* view) {
  *view = EventRecordView();
  const char* p = stored.data();
  const char* const end = p + stored.size();
  while (p < end) {
    uint64_t tag;
    if (!ReadVarint(&p, end, &tag)) return false;
    const uint32_t field = static_cast<uint32_t>(tag >> 3);
    switch (tag & 7) {
      case 0: {  // varint
        uint64_t value;
        if (!ReadVarint(&p, end, &value)) return false;
        if (field == 9) view->occurred_at_micros = static_cast<int64_t>(value);
        if (field == 10) view->recorded_at_micros = static_cast<int64_t>(value);
        if (field == 12) view->revision = value;
        break;
      }
      case 1:  // fixed64
        if (end - p < 8) return false;
        p += 8;
        break;
      case 5:  // fixed32
        if (end - p < 4) return false;
        p += 4;
        break;
      case 2: {  // length-delimited
        uint64_t length;
        if (!ReadVarint(&p, end, &length)) return false;
        if (length > static_cast<uint64_t>(end - p)) return false;
        const absl::string_view value(p, length);
        p += length;
        switch (field) {
          case 1:
            view->event_id = value;
            break;
          case 2:
            view->type = value;
            break;
          case 3:
            view->content_type = value;
            break;
          case 4:
            view->data = value;
            break;
          case 5:
            view->correlation_id = value;
            break;
          case 6:
            view->causation_id = value;
            break;
          case 7:
            view->actor = value;
            break;
          case 8:
            view->source_platform = value;
            break;
          case 11:
            view->stream = value;
            break;
          default:
            break;
        }
        break;
      }
      default:  // Groups are not used by EventRecord.
        return false;
    }
    if (field == 0) return false;
  }
  return true;
}

void PutFixed64BigEndian(std::string* dst, uint64_t value) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  dst->append(buf, sizeof(buf));
}

uint64_t DecodeFixed64BigEndian(absl::string_view src) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<uint8_t>(src[i]);
  }
  return value;
}

std::string TenantPrefix(absl::string_view tenant) {
  std::string key(tenant.data(), tenant.size());
  key.push_back(kSeparator);
  return key;
}

std::string LogKey(absl::string_view tenant, uint64_t position) {
  std::string key = TenantPrefix(tenant);
  PutFixed64BigEndian(&key, position);
  return key;
}

std::string StreamPrefix(absl::string_view tenant, absl::string_view stream) {
  std::string key = TenantPrefix(tenant);
  key.append(stream.data(), stream.size());
  key.push_back(kSeparator);
  return key;
}

std::string StreamKey(absl::string_view tenant, absl::string_view stream,
                      uint64_t revision) {
  std::string key = StreamPrefix(tenant, stream);
  PutFixed64BigEndian(&key, revision);
  return key;
}

std::string SecretKey(absl::string_view tenant, absl::string_view name) {
  std::string key = TenantPrefix(tenant);
  key.append(name.data(), name.size());
  return key;
}

std::string IdKey(absl::string_view tenant, const Uuid& id) {
  std::string key = TenantPrefix(tenant);
  key.append(reinterpret_cast<const char*>(id.data()), id.size());
  return key;
}

uint64_t PositionFromLogKey(absl::string_view key) {
  return DecodeFixed64BigEndian(key.substr(key.size() - 8));
}

uint64_t RevisionFromStreamKey(absl::string_view key) {
  return DecodeFixed64BigEndian(key.substr(key.size() - 8));
}

std::string EncodeIdEntry(const IdEntry& entry) {
  std::string value;
  PutFixed64BigEndian(&value, entry.position);
  PutFixed64BigEndian(&value, entry.revision);
  value.append(reinterpret_cast<const char*>(entry.digest.data()),
               entry.digest.size());
  return value;
}

std::optional<IdEntry> DecodeIdEntry(absl::string_view value) {
  if (value.size() != 16 + sizeof(Digest)) return std::nullopt;
  IdEntry entry;
  entry.position = DecodeFixed64BigEndian(value);
  entry.revision = DecodeFixed64BigEndian(value.substr(8));
  std::memcpy(entry.digest.data(), value.data() + 16, entry.digest.size());
  return entry;
}

ChainHash NextChainHash(const ChainHash& previous,
                        absl::string_view log_value) {
  // EVP rather than SHA256_Init/Update, which OpenSSL 3 deprecates.
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, previous.data(), previous.size());
  EVP_DigestUpdate(ctx, log_value.data(), log_value.size());
  ChainHash next;
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, next.data(), &length);
  EVP_MD_CTX_free(ctx);
  return next;
}

std::string EncodeChainHash(const ChainHash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

std::optional<ChainHash> DecodeChainHash(absl::string_view value) {
  if (value.size() != sizeof(ChainHash)) return std::nullopt;
  ChainHash hash;
  std::memcpy(hash.data(), value.data(), hash.size());
  return hash;
}

std::string ChainHashToHex(const ChainHash& hash) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(hash.data()), hash.size()));
}

std::optional<ChainHash> ChainHashFromHex(absl::string_view hex) {
  if (hex.size() != 2 * sizeof(ChainHash)) return std::nullopt;
  ChainHash hash;
  for (size_t i = 0; i < hash.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    hash[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return hash;
}

absl::Status ValidateTenant(absl::string_view tenant) {
  if (tenant.empty()) {
    return InvalidField("tenant", "must not be empty");
  }
  if (tenant.size() > kMaxTenantLength) {
    return InvalidField("tenant", absl::StrCat("longer than ", kMaxTenantLength,
                                               " characters"));
  }
  for (size_t i = 0; i < tenant.size(); ++i) {
    const char c = tenant[i];
    const bool ok = absl::ascii_islower(static_cast<unsigned char>(c)) ||
                    absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
                    (c == '-' && i > 0);
    if (!ok) {
      return InvalidField("tenant",
                          absl::StrCat("\"", absl::CEscape(tenant),
                                       "\" may hold only lowercase letters, "
                                       "digits and '-', starting with "
                                       "a letter or digit"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateStreamName(absl::string_view stream,
                                absl::string_view field) {
  if (stream.empty()) {
    return InvalidField(field, "must not be empty");
  }
  if (stream.size() > kMaxStreamLength) {
    return InvalidField(
        field, absl::StrCat("longer than ", kMaxStreamLength, " characters"));
  }
  const bool starts_ok =
      absl::ascii_isalnum(static_cast<unsigned char>(stream[0]));
  for (char c : stream) {
    if (!starts_ok || !IsStreamChar(c)) {
      return InvalidField(
          field,
          absl::StrCat(
              "\"", absl::CEscape(stream),
              "\" may hold only letters, digits and \"-_.:@\", starting with a "
              "letter or digit"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEventType(absl::string_view type,
                               absl::string_view field) {
  if (type.empty()) {
    return InvalidField(field, "must not be empty");
  }
  if (type.size() > kMaxTypeLength) {
    return InvalidField(
        field, absl::StrCat("longer than ", kMaxTypeLength, " characters"));
  }
  const bool starts_ok =
      absl::ascii_isalpha(static_cast<unsigned char>(type[0]));
  for (char c : type) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                    c == '_' || c == '.';
    if (!starts_ok || !ok) {
      return InvalidField(
          field,
          absl::StrCat(
              "\"", absl::CEscape(type),
              "\" must start with a letter and hold only letters, digits, '_' "
              "and '.'"));
    }
  }
  return absl::OkStatus();
}

std::optional<Uuid> ParseUuid(absl::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid id{};
  size_t out = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = HexValue(text[i]);
    const int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id[out++] = static_cast<uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return id;
}

std::string FormatUuid(const Uuid& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kHex[id[i] >> 4]);
    text.push_back(kHex[id[i] & 0xf]);
  }
  return text;
}

absl::string_view StreamCategory(absl::string_view stream) {
  const size_t dash = stream.find('-');
  return dash == absl::string_view::npos ? stream : stream.substr(0, dash);
}

}  // namespace throughline::eventstore
