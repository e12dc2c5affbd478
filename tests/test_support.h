// Helpers shared by Throughline's tests: temporary directories and ids.

#ifndef THROUGHLINE_TESTS_TEST_SUPPORT_H_
#define THROUGHLINE_TESTS_TEST_SUPPORT_H_

#include <string>

namespace throughline::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object is destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A random version-4 UUID in canonical lowercase text form.
std::string NewUuid();

}  // namespace throughline::testing

#endif  // THROUGHLINE_TESTS_TEST_SUPPORT_H_
