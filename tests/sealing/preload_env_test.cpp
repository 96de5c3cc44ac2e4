// The launchers' environment for the preload (sealing/launch.hpp,
// sealing/preload_env.hpp): one spelling, one order, nothing inherited.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmseal/sealing/launch.hpp"
#include "vmseal/sealing/preload_env.hpp"

namespace vmseal::sealing {
namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

TEST(PreloadEnvironment, OnlyWhatTheSettingsAskForInAFixedOrder) {
  EXPECT_EQ(preload_environment("/p.so", PreloadSettings{}, nullptr),
            (Env{{"LD_PRELOAD", "/p.so"}, {"VMSEAL_PROFILE", "default"}}));
  PreloadSettings all;
  all.profile = "strict";
  all.opt_out = {"libpython*", "*.node"};
  all.relro = "memfd";
  all.text = "anon";
  all.dry_run = true;
  all.report = "/run/r-%p.json";
  all.enforce = true;
  all.follow_exec = true;
  all.script = "/usr/bin/script.sh";
  all.predict_dir = "/tmp/d";
  EXPECT_EQ(preload_environment("/p.so", all, "/other.so"),
            (Env{{"LD_PRELOAD", "/p.so:/other.so"},
                 {"VMSEAL_PROFILE", "strict"},
                 {"VMSEAL_OPT_OUT", "libpython*:*.node"},
                 {"VMSEAL_RELRO", "memfd"},
                 {"VMSEAL_TEXT", "anon"},
                 {"VMSEAL_DRY_RUN", "1"},
                 {"VMSEAL_REPORT", "/run/r-%p.json"},
                 {"VMSEAL_ENFORCE", "1"},
                 {"VMSEAL_FOLLOW_EXEC", "1"},
                 {"VMSEAL_SCRIPT", "/usr/bin/script.sh"},
                 {"VMSEAL_PREDICT", "/tmp/d"}}));
}

TEST(PreloadEnvironment, ThePreloadDropsEveryVariableALauncherSets) {
  PreloadSettings all;
  all.opt_out = {"x"};
  all.relro = "anon";
  all.text = "file";
  all.dry_run = all.enforce = all.follow_exec = true;
  all.report = "/r";
  all.script = "/s";
  all.predict_dir = "/d";
  for (const auto& [name, value] : preload_environment("/p.so", all, nullptr)) {
    if (name == "LD_PRELOAD") continue;
    EXPECT_TRUE(std::any_of(std::begin(env::kAll), std::end(env::kAll),
                            [&](const char* v) { return name == v; }))
        << name << " is set by a launcher but not in env::kAll, so the preload would pass it on";
    EXPECT_TRUE(std::string_view(name).starts_with(env::kPrefix)) << name;
  }
}

}  // namespace
}  // namespace vmseal::sealing
