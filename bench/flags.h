// Command-line flags for the bench tools: "--name=value", "--name value" or
// a bare "--name" (true), names with dashes. Each tool declares what it
// takes; anything else is an error.

#ifndef THROUGHLINE_BENCH_FLAGS_H_
#define THROUGHLINE_BENCH_FLAGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace throughline::bench {

class Flags {
 public:
  struct Spec {
    std::string name;
    std::string default_value;
    std::string help;
    bool boolean = false;
  };

  explicit Flags(std::vector<Spec> specs) : specs_(std::move(specs)) {
    for (const Spec& spec : specs_) values_[spec.name] = spec.default_value;
  }

  absl::Status Parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        help_ = true;
        continue;
      }
      if (arg.rfind("--", 0) != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument \"", arg, "\""));
      }
      arg = arg.substr(2);
      std::string value;
      bool has_value = false;
      if (const size_t eq = arg.find('='); eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_value = true;
      }
      const Spec* spec = Find(arg);
      if (spec == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag --", arg, " (see --help)"));
      }
      if (!has_value) {
        if (spec->boolean) {
          value = "true";
        } else if (i + 1 < argc) {
          value = argv[++i];
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("--", arg, " needs a value"));
        }
      }
      values_[arg] = value;
      set_.push_back(arg);
    }
    return absl::OkStatus();
  }

  bool help() const { return help_; }
  bool IsSet(const std::string& name) const {
    for (const std::string& s : set_) {
      if (s == name) return true;
    }
    return false;
  }

  std::string Usage(const std::string& program,
                    const std::string& summary) const {
    std::string text =
        absl::StrCat("usage: ", program, " [flags]\n", summary, "\n\nFlags:\n");
    for (const Spec& spec : specs_) {
      absl::StrAppend(&text, "  --", spec.name, spec.boolean ? "" : "=VALUE",
                      "\n      ", spec.help,
                      spec.default_value.empty() || spec.boolean
                          ? ""
                          : absl::StrCat(" (default ", spec.default_value, ")"),
                      "\n");
    }
    return text;
  }

  std::string String(const std::string& name) const { return values_.at(name); }
  bool Bool(const std::string& name) const {
    const std::string& v = values_.at(name);
    return v == "true" || v == "1" || v == "yes";
  }
  // Integer value; an error when not a number or below `min`.
  absl::Status Int(const std::string& name, int64_t min, int64_t* out) const {
    if (!absl::SimpleAtoi(values_.at(name), out) || *out < min) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": expected an integer of at least ", min,
                       ", got \"", values_.at(name), "\""));
    }
    return absl::OkStatus();
  }
  absl::Status Double(const std::string& name, double min, double* out) const {
    if (!absl::SimpleAtod(values_.at(name), out) || *out < min) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": expected a number of at least ", min,
                       ", got \"", values_.at(name), "\""));
    }
    return absl::OkStatus();
  }

 private:
  const Spec* Find(const std::string& name) const {
    for (const Spec& spec : specs_) {
      if (spec.name == name) return &spec;
    }
    return nullptr;
  }

  std::vector<Spec> specs_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> set_;
  bool help_ = false;
};

}  // namespace throughline::bench

#endif  // THROUGHLINE_BENCH_FLAGS_H_
