// A throughline-server child process for tests that need a real process:
// killed with SIGKILL, restarted on the same data directory.

#ifndef THROUGHLINE_TESTS_SERVER_PROCESS_H_
#define THROUGHLINE_TESTS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace throughline::testing {

class ServerProcess {
 public:
  // `binary` is the server executable; `data_dir` its --data_dir. The
  // process listens on a free loopback port.
  ServerProcess(std::string binary, std::string data_dir,
                std::vector<std::string> extra_args = {});
  ~ServerProcess();  // Kills the process if still running.

  // Starts the process and waits (up to 30 s) until it reports its port.
  // Returns false (with a gtest failure) if it does not.
  bool Start();
  // SIGKILL, then reap.
  void Kill();
  // SIGTERM, then reap; returns the exit status as from waitpid.
  int Terminate();

  int port() const { return port_; }
  std::string address() const;
  // What the process wrote to stderr so far.
  std::string Log() const;

 private:
  const std::string binary_;
  const std::string data_dir_;
  const std::vector<std::string> extra_args_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace throughline::testing

#endif  // THROUGHLINE_TESTS_SERVER_PROCESS_H_
