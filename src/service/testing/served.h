// For tests: an HttpServer on a free loopback port, answering on a thread
// of its own from construction to destruction, with every bearer token
// accepted (a stand-in for an agent of another version, a fake agent).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "service/http_server.h"

namespace coffer::service::testing {

class ServedOnThread {
 public:
  // `routes` adds the routes before the server binds.
  template <typename Routes>
  ServedOnThread(const std::string& name, Routes routes) : server_(Options(name)) {
    routes(server_);
    EXPECT_TRUE(server_.Bind());
    thread_ = std::thread([this] { (void)server_.Serve(); });
  }
  ~ServedOnThread() {
    server_.Stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

 private:
  static ServerOptions Options(const std::string& name) {
    ServerOptions o;
    o.name = name;
    o.listen = {"127.0.0.1", 0};
    o.authorize = [](std::string_view) { return true; };
    o.log_requests = false;
    return o;
  }

  HttpServer server_;
  std::thread thread_;
};

}  // namespace coffer::service::testing
