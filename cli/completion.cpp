#include "completion.hpp"

#include <vector>

#include "manual.hpp"

namespace vmseal::cli {
namespace {

struct Flag {
  std::string name;  // "--profile" or "-n"
  std::string help;
  bool takes_value = false;
};

struct Command {
  std::string name;
  std::string help;  // first line of the description
  std::vector<Flag> flags;
};

std::string first_line(const std::string& s) {
  std::string l = s.substr(0, s.find('\n'));
  if (const std::size_t dot = l.find(". "); dot != std::string::npos) l.resize(dot);
  return l;
}

std::vector<Flag> flags_of(const CLI::App& app) {
  std::vector<Flag> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_group().empty()) continue;  // hidden
    for (const std::string& l : o->get_lnames())
      out.push_back({"--" + l, first_line(o->get_description()), o->get_type_size() > 0});
    for (const std::string& s : o->get_snames())
      out.push_back({"-" + s, first_line(o->get_description()), o->get_type_size() > 0});
  }
  return out;
}

std::vector<Command> commands_of(const CLI::App& app) {
  std::vector<Command> out;
  for (const std::string_view name : manual_commands()) {
    if (name == "vmseal") continue;
    const CLI::App* sub = app.get_subcommand(std::string(name));
    out.push_back({std::string(name), first_line(sub->get_description()), flags_of(*sub)});
  }
  return out;
}

// Single quotes for a shell word.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string bash(const CLI::App& app) {
  const std::vector<Command> cmds = commands_of(app);
  std::string names;
  for (const Command& c : cmds) names += (names.empty() ? "" : " ") + c.name;
  std::string s =
      "# bash completion for vmseal, made by `vmseal --completion bash`.\n"
      "_vmseal() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} cmd= i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    if [[ ${COMP_WORDS[i]} == -- ]]; then\n"
      "      # After `--`: the program to run, then its own arguments.\n"
      "      if ((i + 1 == COMP_CWORD)); then COMPREPLY=($(compgen -c -- \"$cur\")); else "
      "COMPREPLY=($(compgen -f -- \"$cur\")); fi\n"
      "      return\n"
      "    fi\n"
      "    case ${COMP_WORDS[i]} in " +
      [&] {
        std::string alt;
        for (const Command& c : cmds) alt += (alt.empty() ? "" : "|") + c.name;
        return alt;
      }() +
      ") cmd=${COMP_WORDS[i]} ;; esac\n"
      "  done\n"
      "  local opts\n"
      "  case $cmd in\n"
      "    '') COMPREPLY=($(compgen -W '" +
      names + " --help --version' -- \"$cur\")); return ;;\n";
  for (const Command& c : cmds) {
    std::string o;
    for (const Flag& f : c.flags) o += (o.empty() ? "" : " ") + f.name;
    s += "    " + c.name + ") opts='" + o + "' ;;\n";
  }
  s += "  esac\n"
       "  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\")); else "
       "COMPREPLY=($(compgen -f -- \"$cur\")); fi\n"
       "}\n"
       "complete -F _vmseal vmseal\n";
  return s;
}

std::string zsh(const CLI::App& app) {
  const std::vector<Command> cmds = commands_of(app);
  std::string s =
      "#compdef vmseal\n# zsh completion for vmseal, made by `vmseal --completion zsh`.\n_vmseal() "
      "{\n"
      "  local -a commands\n  commands=(\n";
  for (const Command& c : cmds) s += "    " + quoted(c.name + ":" + c.help) + "\n";
  s += "  )\n  if (( CURRENT == 2 )); then\n    _describe command commands\n    return\n  fi\n"
       "  local cmd=${words[2]}\n  case $cmd in\n";
  for (const Command& c : cmds) {
    s += "    " + c.name + ")\n      _arguments -s";
    for (const Flag& f : c.flags) {
      std::string help = f.help;
      for (char& ch : help)
        if (ch == '[' || ch == ']' || ch == ':') ch = ' ';
      s += " \\\n        " +
           quoted(f.name + "[" + help + "]" + (f.takes_value ? ":value:_files" : ""));
    }
    s += " \\\n        '*:file:_files' ;;\n";
  }
  s += "  esac\n}\n_vmseal \"$@\"\n";
  return s;
}

std::string fish(const CLI::App& app) {
  const std::vector<Command> cmds = commands_of(app);
  std::string s =
      "# fish completion for vmseal, made by `vmseal --completion fish`.\ncomplete -c vmseal -f\n";
  for (const Command& c : cmds)
    s +=
        "complete -c vmseal -n __fish_use_subcommand -a " + c.name + " -d " + quoted(c.help) + "\n";
  for (const Command& c : cmds)
    for (const Flag& f : c.flags) {
      const bool is_long = f.name.rfind("--", 0) == 0;
      s += "complete -c vmseal -n " + quoted("__fish_seen_subcommand_from " + c.name) +
           (is_long ? " -l " : " -s ") + f.name.substr(is_long ? 2 : 1) +
           (f.takes_value ? " -r" : "") + " -d " + quoted(f.help) + "\n";
    }
  return s;
}

}  // namespace

std::string completion_script(const CLI::App& app, std::string_view shell) {
  if (shell == "bash") return bash(app);
  if (shell == "zsh") return zsh(app);
  if (shell == "fish") return fish(app);
  return "";
}

}  // namespace vmseal::cli
