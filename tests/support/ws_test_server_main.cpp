// ws_test_server OUT.gor [CERT KEY]: a WebSocket server on 127.0.0.1 (any port) for
// tests/cli/ws.sh. Prints "port N" on stdout when listening; appends every message it receives
// to OUT.gor followed by gor's separator (so it is a gor file) and flushes; logs each
// connection's Authorization header to stderr as "authorization: <value>". Runs until killed.
#include "support/ws_test_server.hpp"

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::fprintf(stderr, "usage: ws_test_server OUT.gor [CERT KEY]\n");
    return 2;
  }
  std::FILE* out = std::fopen(argv[1], "ab");
  if (!out) return 1;
  boost::asio::io_context io;
  std::optional<std::pair<std::string, std::string>> ck;
  if (argc == 4) ck.emplace(argv[2], argv[3]);
  coreplay::test::ws_test_server srv(io, ck);
  std::size_t logged = 0;
  srv.st->on_frame = [&](const std::string& f) {
    static const std::string sep = "\n\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\n";
    std::fwrite(f.data(), 1, f.size(), out);
    std::fwrite(sep.data(), 1, sep.size(), out);
    std::fflush(out);
    for (; logged < srv.st->conns.size(); ++logged)
      std::cerr << "authorization: " << srv.st->conns[logged]->authorization << std::endl;
  };
  std::cout << "port " << srv.port() << std::endl;
  io.run();
}
