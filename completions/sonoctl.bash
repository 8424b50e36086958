# bash completion for sonoctl(1).  Installed as
# share/bash-completion/completions/sonoctl, loaded on first use.

_sonoctl() {
  local cur prev words cword
  # bash-completion's helper when it is loaded; plain bash otherwise.
  if declare -F _init_completion >/dev/null; then
    _init_completion || return
  else
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
  fi

  local commands="status hello ping sync monitor tone render shutdown call compile instr synth bus table channel event score"
  local global_opts="-s --socket -C --connect -j --json -t --timeout -h --help -V --version"
  local i cmd="" cmd_at=0

  # The subcommand is the first word that is neither an option nor an
  # option's value.
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      -s|--socket|-C|--connect|-t|--timeout) ((i++)) ;;
      -*) ;;
      *) cmd="${words[i]}"; cmd_at=$i; break ;;
    esac
  done

  if [[ -z $cmd ]]; then
    case "$prev" in
      -s|--socket)
        if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=($(compgen -f -- "$cur")); fi
        return ;;
      -C|--connect) COMPREPLY=($(compgen -W "unix: tcp://" -- "$cur")); compopt -o nospace; return ;;
      -t|--timeout) return ;;
    esac
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    fi
    return
  fi

  case "$cmd" in
    hello)
      [[ $prev == --name ]] && return
      COMPREPLY=($(compgen -W "--name --help" -- "$cur")) ;;
    ping)
      case "$prev" in -c|--count|-i|--interval) return ;; esac
      COMPREPLY=($(compgen -W "-c --count -i --interval --help" -- "$cur")) ;;
    monitor)
      [[ $prev == -n || $prev == --count ]] && return
      COMPREPLY=($(compgen -W "-n --count --help tone backend xrun client shutdown" -- "$cur")) ;;
    tone)
      case "$prev" in --freq|--amp|--channel|--at|--delay) return ;; esac
      if ((cword == cmd_at + 1)); then
        COMPREPLY=($(compgen -W "on off" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "--freq --amp --channel --at --delay --help" -- "$cur"))
      fi ;;
    render)
      case "$prev" in --frames|--seconds) return ;; esac
      if [[ $prev == -o || $prev == --output || $cur != -* ]]; then
        if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=($(compgen -f -- "$cur")); fi
      else
        COMPREPLY=($(compgen -W "--frames --seconds -o --output --help" -- "$cur"))
      fi ;;
    instr|synth|bus|table|channel)
      if ((cword == cmd_at + 1)); then
        local verbs
        case "$cmd" in
          instr) verbs="define list undefine" ;;
          synth) verbs="start set automate stop list get" ;;
          bus) verbs="new get set free" ;;
          table) verbs="new read get set free" ;;
          channel) verbs="set get" ;;
        esac
        COMPREPLY=($(compgen -W "$verbs --help" -- "$cur"))
      elif [[ $cur == --* ]]; then
        COMPREPLY=($(compgen -W "--at --delay --dur --priority --mode --param --init --size --start --count --help" -- "$cur"))
      elif [[ $cmd == instr || ($cmd == table && ${words[cmd_at + 1]} == read) ]]; then
        if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=($(compgen -f -- "$cur")); fi
      fi ;;
    compile|score)
      if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=($(compgen -f -- "$cur")); fi ;;
    call)
      if ((cword == cmd_at + 1)); then
        COMPREPLY=($(compgen -W "hello ping status sync subscribe unsubscribe engine.tone render shutdown" -- "$cur"))
      fi ;;
    status|sync|shutdown)
      COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
  esac
}

complete -F _sonoctl sonoctl
