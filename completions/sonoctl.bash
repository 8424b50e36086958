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

  local commands="status hello ping sync monitor tone render record capture top shutdown call plugin state graph connect disconnect node compile instr synth bus table channel event score transport midi freewheel"
  local global_opts="-s --socket -C --connect -j --json -t --timeout -k --token-file -w --wait -g --get -h --help -V --version"
  local i cmd="" cmd_at=0

  # The subcommand is the first word that is neither an option nor an
  # option's value.
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      -s|--socket|-C|--connect|-t|--timeout|-k|--token-file|-w|--wait|-g|--get) ((i++)) ;;
      -*) ;;
      *) cmd="${words[i]}"; cmd_at=$i; break ;;
    esac
  done

  if [[ -z $cmd ]]; then
    case "$prev" in
      -s|--socket|-k|--token-file)
        if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=($(compgen -f -- "$cur")); fi
        return ;;
      -C|--connect) COMPREPLY=($(compgen -W "unix: tcp://" -- "$cur")); compopt -o nospace; return ;;
      -t|--timeout|-w|--wait|-g|--get) return ;;
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
      COMPREPLY=($(compgen -W "-n --count --help tone backend xrun client shutdown synth csound plugin" -- "$cur")) ;;
    tone)
      case "$prev" in --freq|--amp|--channel|--at|--delay) return ;; esac
      if ((cword == cmd_at + 1)); then
        COMPREPLY=($(compgen -W "on off" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "--freq --amp --channel --at --delay --help" -- "$cur"))
      fi ;;
    render)
      case "$prev" in --frames|--seconds|--length|--sample-rate|--block-size|--channels) return ;; esac
      if [[ $prev == -o || $prev == --output || $cur != -* ]]; then
        _sonoctl_files
      else
        COMPREPLY=($(compgen -W "--frames --seconds -o --output --length --sample-rate --block-size --channels --help" -- "$cur"))
      fi ;;
    record)
      case "$prev" in --seconds|--channels) return ;; --format) COMPREPLY=($(compgen -W "wav flac" -- "$cur")); return ;; esac
      if [[ $prev == -o ]]; then
        _sonoctl_files
      else
        COMPREPLY=($(compgen -W "-o --seconds --format --channels --help" -- "$cur"))
      fi ;;
    capture)
      case "$prev" in --seconds|--frames|--block) return ;; --port) COMPREPLY=($(compgen -W "out in" -- "$cur")); return ;; esac
      if [[ $prev == -o || $prev == --output ]]; then
        _sonoctl_files
      elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--port --seconds --frames --block -o --output --help" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "out in csound" -- "$cur"))
      fi ;;
    top)
      [[ $prev == --rate ]] && return
      COMPREPLY=($(compgen -W "--once --rate --help" -- "$cur")) ;;
    plugin)
      local verb=${words[cmd_at + 1]}
      case "$prev" in --timeout|--at|--delay|--vel|--channel|--len) return ;; esac
      if ((cword == cmd_at + 1)); then
        COMPREPLY=($(compgen -W "load unload restart list params set get note cc program programs state scan --help" -- "$cur"))
      elif [[ $cur == -* ]]; then
        case "$verb" in
          load) COMPREPLY=($(compgen -W "--timeout --isolate --in-process --help" -- "$cur")) ;;
          scan) COMPREPLY=($(compgen -W "--timeout --help" -- "$cur")) ;;
          set) COMPREPLY=($(compgen -W "--at --delay --help" -- "$cur")) ;;
          note) COMPREPLY=($(compgen -W "--vel --channel --at --delay --len --help" -- "$cur")) ;;
          cc) COMPREPLY=($(compgen -W "--channel --at --delay --help" -- "$cur")) ;;
          *) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
        esac
      elif [[ $verb == state ]] && ((cword == cmd_at + 2)); then
        COMPREPLY=($(compgen -W "save load" -- "$cur"))
      elif [[ $verb == load || $verb == scan ]] || { [[ $verb == state ]] && ((cword == cmd_at + 4)); }; then
        _sonoctl_files
      fi ;;
    state)
      if ((cword == cmd_at + 1)); then
        COMPREPLY=($(compgen -W "save load --help" -- "$cur"))
      elif ((cword == cmd_at + 2)); then
        _sonoctl_files
      fi ;;
    graph)
      COMPREPLY=($(compgen -W "--dot --help" -- "$cur")) ;;
    transport)
      case "$prev" in --tempo|--sig|--frame|--at|--delay) return ;; esac
      if ((cword == cmd_at + 1)); then
        COMPREPLY=($(compgen -W "get set follow --help" -- "$cur"))
      elif [[ ${words[cmd_at + 1]} == follow ]]; then
        COMPREPLY=($(compgen -W "on off" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "--tempo --sig --play --stop --frame --at --delay" -- "$cur"))
      fi ;;
    midi)
      case "$prev" in --channel|--instr|--note|--velocity|--voices) return ;; esac
      if ((cword == cmd_at + 1)); then
        COMPREPLY=($(compgen -W "route unroute routes --help" -- "$cur"))
      elif ((cword == cmd_at + 2)); then
        COMPREPLY=($(compgen -W "csound" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "--channel --instr --note --velocity --voices" -- "$cur"))
      fi ;;
    freewheel)
      COMPREPLY=($(compgen -W "on off --help" -- "$cur")) ;;
    connect|disconnect)
      [[ $prev == --gain ]] && return
      if [[ $cur == -* ]]; then
        if [[ $cmd == connect ]]; then
          COMPREPLY=($(compgen -W "--gain --help" -- "$cur"))
        else
          COMPREPLY=($(compgen -W "--help" -- "$cur"))
        fi
      elif ((cword == cmd_at + 1)); then
        COMPREPLY=($(compgen -W "csound:out_ in:out_" -- "$cur")); compopt -o nospace 2>/dev/null
      elif ((cword == cmd_at + 2)); then
        COMPREPLY=($(compgen -W "out:in_" -- "$cur")); compopt -o nospace 2>/dev/null
      fi ;;
    node)
      local verb=${words[cmd_at + 1]}
      case "$prev" in --channels|--at|--delay) return ;; esac
      if ((cword == cmd_at + 1)); then
        COMPREPLY=($(compgen -W "new delete bypass mute gain --help" -- "$cur"))
      elif [[ $cur == -* ]]; then
        case "$verb" in
          new) COMPREPLY=($(compgen -W "--channels --help" -- "$cur")) ;;
          gain) COMPREPLY=($(compgen -W "--at --delay --help" -- "$cur")) ;;
          *) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
        esac
      elif [[ $verb == new ]] && ((cword == cmd_at + 2)); then
        COMPREPLY=($(compgen -W "gain bus" -- "$cur"))
      elif [[ $verb == bypass || $verb == mute ]] && ((cword == cmd_at + 3)); then
        COMPREPLY=($(compgen -W "on off" -- "$cur"))
      elif [[ $verb == gain ]] && ((cword == cmd_at + 2)); then
        COMPREPLY=($(compgen -W "out in csound" -- "$cur"))
      fi ;;
    instr|synth|bus|table|channel)
      local verb=${words[cmd_at + 1]}
      case "$prev" in --at|--delay|--dur|--priority|--param|--size|--start|--count) return ;; esac
      if [[ $prev == --mode ]]; then
        COMPREPLY=($(compgen -W "linear exp cos smooth" -- "$cur")); return
      fi
      if [[ $prev == --init ]]; then
        _sonoctl_files; return
      fi
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
      elif [[ $cur == -* ]]; then
        local opts="--help"
        case "$cmd $verb" in
          "instr define") opts="--param --priority --init --help" ;;
          "synth start") opts="--at --delay --dur --priority --spread --help" ;;
          "synth set"|"synth stop"|"bus set"|"channel set") opts="--at --delay --help" ;;
          "synth automate") opts="--mode --at --delay --help" ;;
          "table new") opts="--size --help" ;;
          "table get") opts="--start --count --help" ;;
          "table set") opts="--start --at --delay --help" ;;
        esac
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
      elif [[ $cmd == bus && $verb == new ]] && ((cword == cmd_at + 2)); then
        COMPREPLY=($(compgen -W "audio control" -- "$cur"))
      elif [[ $cmd == instr && $verb == define ]] && ((cword == cmd_at + 3)); then
        _sonoctl_files
      elif [[ $cmd == table && $verb == read ]]; then
        _sonoctl_files
      fi ;;
    compile|score)
      [[ $prev == --at || $prev == --delay ]] && return
      if [[ $cur == -?* ]]; then
        if [[ $cmd == score ]]; then
          COMPREPLY=($(compgen -W "--at --delay --spread --help" -- "$cur"))
        else
          COMPREPLY=($(compgen -W "--help" -- "$cur"))
        fi
      else
        _sonoctl_files
      fi ;;
    event)
      [[ $prev == --at || $prev == --delay ]] && return
      [[ $cur == -* ]] && COMPREPLY=($(compgen -W "--at --delay --spread --help" -- "$cur")) ;;
    call)
      # every op of the daemon (daemon/ops.c; tests/docs checks the list)
      local ops="hello ping status meter.subscribe meter.unsubscribe record.start record.stop capture.start capture.stop sync schedule.list schedule.cancel subscribe unsubscribe shutdown engine.tone render plugin.load plugin.unload plugin.list plugin.params plugin.set plugin.get plugin.midi plugin.program plugin.programs plugin.state.get plugin.state.set plugin.scan plugin.restart csound.compile csound.event csound.score channel.set channel.get instr.define instr.list instr.undefine synth.start synth.set synth.automate synth.stop synth.list synth.get bundle bus.new bus.set bus.get bus.free table.new table.read table.get table.set table.free state.save state.load transport.set transport.get transport.follow midi.route midi.unroute midi.routes engine.freewheel graph.connect graph.disconnect graph.get node.new node.delete node.bypass node.gain node.mute"
      if ((cword == cmd_at + 1)); then
        COMPREPLY=($(compgen -W "$ops" -- "$cur"))
      fi ;;
    status|sync|shutdown)
      COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
  esac
}

# Files: bash-completion's helper when it is loaded; plain bash otherwise.
_sonoctl_files() {
  if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=($(compgen -f -- "$cur")); fi
}

complete -F _sonoctl sonoctl
