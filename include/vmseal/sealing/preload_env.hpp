// The contract between the launchers (vmseal run, vmseal predict) and the
// preload (src/preload/preload.cpp): the environment variables, spelled once.
// Plain character arrays: the preload links libc only.
#pragma once

namespace vmseal::sealing::env {

inline constexpr char kPrefix[] = "VMSEAL_";          // every variable of the contract
inline constexpr char kProfile[] = "VMSEAL_PROFILE";  // minimal | default | strict
inline constexpr char kOptOut[] = "VMSEAL_OPT_OUT";   // globs, ':'-separated
inline constexpr char kRelro[] = "VMSEAL_RELRO";      // anon | memfd | file
inline constexpr char kText[] = "VMSEAL_TEXT";        // anon | file
inline constexpr char kScript[] = "VMSEAL_SCRIPT";    // the #! script the interpreter runs
inline constexpr char kDryRun[] = "VMSEAL_DRY_RUN";   // "1": print the plan, seal nothing
inline constexpr char kReport[] = "VMSEAL_REPORT";    // the JSON report's path ('%p': the pid)
inline constexpr char kEnforce[] = "VMSEAL_ENFORCE";  // "1": exit 125 when a seal fails
inline constexpr char kFollowExec[] = "VMSEAL_FOLLOW_EXEC";  // "1": stay for the programs it execs
inline constexpr char kPredict[] =
    "VMSEAL_PREDICT";  // predict's snapshot directory: mark seal points

// All of them: what the preload drops before an exec it does not follow.
inline constexpr const char* kAll[] = {kProfile, kOptOut, kRelro,   kText,       kScript,
                                       kDryRun,  kReport, kEnforce, kFollowExec, kPredict};

}  // namespace vmseal::sealing::env
