function __lstore_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __lstore_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __lstore_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __lstore_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __lstore_parse_tokens -S
    set -l unparsed_tokens (__lstore_tokens -pc)
    switch $unparsed_tokens[1]
    case 'lstore'
        __lstore_parse_subcommand 0 'C=' 'eventlog=' 'color=' 'q/quiet' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'init'
            __lstore_parse_subcommand 1 'schema=' 'store-id=' 'client-id=' 'session-id=' 'format=' 'version' 'h/help'
        case 'config'
            __lstore_parse_subcommand 2 'unset' 'version' 'h/help'
        case 'commit'
            __lstore_parse_subcommand 2 'm/message=' 'f/file=+' 'amend' 'json' 'version' 'h/help'
        case 'log'
            __lstore_parse_subcommand 1 'name=+' 'client=' 'session=' 'from=' 'to=' 'oneline' 'events' 'json' 'reverse' 'graph' 'all' 'n/max-count=' 'version' 'h/help'
        case 'show'
            __lstore_parse_subcommand 1 'json' 'version' 'h/help'
        case 'status'
            __lstore_parse_subcommand 0 'json' 'version' 'h/help'
        case 'sql'
            __lstore_parse_subcommand 1 'json' 'csv' 'version' 'h/help'
        case 'diff'
            __lstore_parse_subcommand 2 'table=' 'schema=' 'json' 'version' 'h/help'
        case 'blame'
            __lstore_parse_subcommand -r 2 'schema=' 'json' 'version' 'h/help'
        case 'branch'
            __lstore_parse_subcommand 2 'at=' 'd/delete' 'D' 'm/move' 'r/remotes' 'json' 'version' 'h/help'
        case 'switch'
            __lstore_parse_subcommand 2 'c/create' 'store-id=' 'protocol=' 'auth-token=' 'auth-file=' 'version' 'h/help'
        case 'rebase'
            __lstore_parse_subcommand 1 'i/interactive' 'plan=' 'strategy=' 'dry-run' 'continue' 'skip' 'abort' 'json' 'version' 'h/help'
        case 'cherry-pick'
            __lstore_parse_subcommand -r 1 'version' 'h/help'
        case 'revert'
            __lstore_parse_subcommand 1 'version' 'h/help'
        case 'reset'
            __lstore_parse_subcommand 1 'hard' 'soft' 'json' 'version' 'h/help'
        case 'reflog'
            __lstore_parse_subcommand 0 'n/max-count=' 'json' 'version' 'h/help'
        case 'materialize'
            __lstore_parse_subcommand 0 'until=' 'schema=' 'o/output=' 'json' 'version' 'h/help'
        case 'fsck'
            __lstore_parse_subcommand 0 'schema=' 'replay' 'json' 'version' 'h/help'
        case 'repair'
            __lstore_parse_subcommand 0 'dry-run' 'force' 'restore=' 'json' 'version' 'h/help'
        case 'replay'
            __lstore_parse_subcommand 0 'schema=' 'against=' 'sample=' 'json' 'version' 'h/help'
        case 'convert'
            __lstore_parse_subcommand 0 'format=' 'version' 'h/help'
        case 'export'
            __lstore_parse_subcommand 0 'o/output=' 'gzip' 'from=' 'to=' 'version' 'h/help'
        case 'import'
            __lstore_parse_subcommand 1 'json' 'version' 'h/help'
        case 'remote'
            __lstore_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'add'
                __lstore_parse_subcommand 2 'store-id=' 'default' 'protocol=' 'version' 'h/help'
            case 'remove'
                __lstore_parse_subcommand 1 'version' 'h/help'
            case 'list'
                __lstore_parse_subcommand 0 'json' 'v/verbose' 'version' 'h/help'
            case 'set-default'
                __lstore_parse_subcommand 1 'version' 'h/help'
            end
        case 'push'
            __lstore_parse_subcommand 2 'store-id=' 'protocol=' 'auth-token=' 'auth-file=' 'd/delete' 'json' 'version' 'h/help'
        case 'pull'
            __lstore_parse_subcommand 1 'store-id=' 'protocol=' 'auth-token=' 'auth-file=' 'follow' 'adopt-backend' 'json' 'version' 'h/help'
        case 'serve'
            __lstore_parse_subcommand 0 'host=' 'port=' 'data=' 'database=' 'auth-token=' 'jwt-secret=' 'admin-secret=' 'log-level=' 'max-connections=' 'version' 'h/help'
        case 'help'
            __lstore_parse_subcommand -r 1 'version'
        end
    end
end

function __lstore_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __lstore_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __lstore_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __lstore_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__lstore_tokens -p)
    if test -z "$(__lstore_tokens -t)"
        set -l index (count (__lstore_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'lstore' -f
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore" C' -s 'C' -d 'Use the store found from <dir> (like git -C, but file arguments stay relative to the current directory).' -rfa '(__lstore_complete_directories)'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore" eventlog' -l 'eventlog' -d 'Open a LiveStore eventlog file directly, read-only, without a store: storage format 4 (LiveStore 0.3) or 6 (0.4), found from its columns (log, show, status, export, fsck, sql, replay, diff, blame, materialize).' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'db\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore" color' -l 'color' -d 'When to color output: auto (only on a terminal, not with NO_COLOR), always, never.' -rfka 'auto always never'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore" q quiet' -s 'q' -l 'quiet' -d 'Print no progress and no notes on stderr.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'init' -d 'Create a store (.lstore/) with an empty eventlog and its state.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'config' -d 'Read or change the store\'s settings (author, schema, ids).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'commit' -d 'Append events as one atomic commit, materializing them.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'log' -d 'Show history, newest first: commits, or every event with --events.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'show' -d 'Show one event (args, metadata, the rows it changed) or one commit.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'status' -d 'Show the branch, heads, pending events, state and schema.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'sql' -d 'Run a read-only SQL query over the state, with the eventlog attached.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'diff' -d 'Rows added, removed and changed between two points of history.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'blame' -d 'Which event (and commit) last wrote each column of a row.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'branch' -d 'List, create, rename or delete branches.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'switch' -d 'Make another branch current (its state is already materialized).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'rebase' -d 'Replay this branch\'s commits after another branch\'s head (or interactively in place).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'cherry-pick' -d 'Replay commits from any branch after the head, as new commits.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'revert' -d 'Undo a commit: drop it if unpushed, or commit events that restore its rows.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'reset' -d 'Move the branch head to a revision: an event, a commit, a past head (HEAD@{2}) or a branch.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'reflog' -d 'List the moves of the branch head, newest first (HEAD@{N} names each).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'materialize' -d 'Rebuild state from the eventlog, from scratch.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'fsck' -d 'Check an eventlog, its commits and its state; change nothing.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'repair' -d 'Fix what fsck finds, after a backup: renumber, quarantine, reset heads, rebuild state.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'replay' -d 'Replay the eventlog through a schema into a scratch state and report (for CI).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'convert' -d 'Rewrite the store\'s files in another LiveStore storage format (4 or 6).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'export' -d 'Write events and commits as NDJSON (optionally gzip) with a header and a checksum.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'import' -d 'Append an export (NDJSON, gzip detected) onto this store and materialize it.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'remote' -d 'Manage the backends this store pushes to and pulls from.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'push' -d 'Send pending events to a remote; refused (exit 3) when the remote is ahead.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'pull' -d 'Fetch events from a remote and rebase pending local events on top.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'serve' -d 'Run a sync backend (LiveStore 0.3 and 0.4 sync protocols plus lstore\'s HTTP API).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore init" schema' -l 'schema' -d 'The schema file (YAML or JSON).' -rfa '(set -l exts \'yaml\' \'yml\' \'json\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore init" store-id' -l 'store-id' -d 'The storeId used on sync backends (default: the directory\'s name).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore init" client-id' -l 'client-id' -d 'This client\'s id (default: a random 6-character id).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore init" session-id' -l 'session-id' -d 'The session id stamped on events (default: a random 6-character id).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore init" format' -l 'format' -d 'LiveStore\'s storage format of the files: 4 (LiveStore 0.3) or 6 (LiveStore 0.4).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore init" -eq 1' -fa '(__lstore_complete_directories)'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore init" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore init" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore config" unset' -l 'unset' -d 'Remove the key\'s value (author.name, author.email, remote.default).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore config" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore config" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore commit" -eq 1' -fka '(__lstore_custom_completion ---completion commit -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore commit" m message' -s 'm' -l 'message' -d 'The commit message (default: a summary of the events).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore commit"' -s 'f' -l 'file' -d 'Read events from an NDJSON file (- for stdin).' -rfa '(set -l exts \'ndjson\' \'jsonl\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore commit" amend' -l 'amend' -d 'Replace the last commit (unpushed, at the head): its message with -m, and add the events given.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore commit" json' -l 'json' -d 'Print the commit as JSON.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore commit" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore commit" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log"' -l 'name' -d 'Only events with this name; * matches any text. Repeatable.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" client' -l 'client' -d 'Only events from this client id.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" session' -l 'session' -d 'Only events from this session id.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" from' -l 'from' -d 'Start at this event or revision (e5, e5+1, a commit, HEAD~2), inclusive.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" to' -l 'to' -d 'Stop at this event or revision, inclusive.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" oneline' -l 'oneline' -d 'One line per commit, or per event with --events.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" events' -l 'events' -d 'List every event instead of commits.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" json' -l 'json' -d 'One JSON object per event (NDJSON), newest first.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" reverse' -l 'reverse' -d 'Oldest first.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" graph' -l 'graph' -d 'Draw history as a tree, one line per commit, with branch and remote heads.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" all' -l 'all' -d 'Every branch, each from where it parts from another (with or without --graph).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" max-count n' -s 'n' -l 'max-count' -d 'Show at most this many commits (or events).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore log" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore show" json' -l 'json' -d 'Print JSON (see docs/output-formats.md).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore show" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore status" json' -l 'json' -d 'Print one JSON object (see docs/output-formats.md).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore status" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore sql" json' -l 'json' -d 'One JSON object per row (NDJSON).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore sql" csv' -l 'csv' -d 'CSV (RFC 4180) with a header row.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore sql" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore sql" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore diff" table' -l 'table' -d 'Compare only this table.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore diff" schema' -l 'schema' -d 'Replay with this schema file instead of the store\'s (needed with --eventlog).' -rfa '(set -l exts \'yaml\' \'yml\' \'json\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore diff" json' -l 'json' -d 'One JSON object per table.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore diff" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore diff" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore blame" schema' -l 'schema' -d 'Replay with this schema file instead of the store\'s (needed with --eventlog).' -rfa '(set -l exts \'yaml\' \'yml\' \'json\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore blame" json' -l 'json' -d 'One JSON object per column.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore blame" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore blame" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore branch" -eq 1' -fka '(__lstore_custom_completion ---completion branch -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore branch" -eq 2' -fka '(__lstore_custom_completion ---completion branch -- positional@1 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore branch" at' -l 'at' -d 'Where the new branch starts (a revision).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore branch" d delete' -s 'd' -l 'delete' -d 'Delete the named branch if the current one has its events.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore branch" D' -s 'D' -d 'Delete the named branch even with events the current branch does not have.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore branch" m move' -s 'm' -l 'move' -d 'Rename a branch: -m <old> <new> (or -m <new> for the current one).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore branch" r remotes' -s 'r' -l 'remotes' -d 'List the remote\'s branches (as of the last push or pull).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore branch" json' -l 'json' -d 'List as JSON: one {name, current, head, events} per branch (-r: {remote, name, head}).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore branch" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore branch" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore switch" -eq 1' -fka '(__lstore_custom_completion ---completion switch -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore switch" c create' -s 'c' -l 'create' -d 'Create the branch from the current head first.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore switch" -eq 2' -fka '(__lstore_custom_completion ---completion switch -- positional@1 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore switch" store-id' -l 'store-id' -d 'The storeId on the backend (default: the remote\'s, else this store\'s).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore switch" protocol' -l 'protocol' -d 'The sync protocol: livestore-0.3 or livestore-0.4 (default: the remote\'s, else detected).' -rfka 'livestore-0.3 livestore-0.4'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore switch" auth-token' -l 'auth-token' -d 'Sent as the connect payload {"authToken": …}. Prefer LSTORE_AUTH_TOKEN or --auth-file: command lines are visible to other users.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore switch" auth-file' -l 'auth-file' -d 'A file holding the token, or a JSON object used as the whole connect payload.' -rF
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore switch" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore switch" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore rebase" -eq 1' -fka '(__lstore_custom_completion ---completion rebase -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore rebase" i interactive' -s 'i' -l 'interactive' -d 'Edit the plan in an editor before the rebase starts.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore rebase" plan' -l 'plan' -d 'Read the plan from a file (git\'s todo format).' -rF
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore rebase" strategy' -l 'strategy' -d 'What to do with conflicts: stop, ours, theirs, replay.' -rfka 'stop ours theirs replay'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore rebase" dry-run' -l 'dry-run' -d 'Report what the rebase would do and every conflict, change nothing.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore rebase" continue' -l 'continue' -d 'Go on with a stopped rebase.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore rebase" skip' -l 'skip' -d 'Drop the stopped commit and go on.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore rebase" abort' -l 'abort' -d 'Stop the rebase and restore the branch as it was before it.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore rebase" json' -l 'json' -d 'Print results and conflicts as JSON.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore rebase" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore rebase" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore cherry-pick" -ge 1' -fka '(__lstore_custom_completion ---completion cherry-pick -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore cherry-pick" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore cherry-pick" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore revert" -eq 1' -fka '(__lstore_custom_completion ---completion revert -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore revert" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore revert" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore reset" -eq 1' -fka '(__lstore_custom_completion ---completion reset -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore reset" hard' -l 'hard' -d 'Make the eventlog and state match the revision (the default).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore reset" soft' -l 'soft' -d 'Keep the events; ungroup the commits after the revision, for one new \'commit -m\'.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore reset" json' -l 'json' -d 'Print the result as JSON.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore reset" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore reset" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore reflog" max-count n' -s 'n' -l 'max-count' -d 'Show at most this many entries.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore reflog" json' -l 'json' -d 'One JSON object per entry (NDJSON).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore reflog" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore reflog" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore materialize" until' -l 'until' -d 'Stop after this event (e5, e5+1).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore materialize" schema' -l 'schema' -d 'Use this schema file instead of the store\'s.' -rfa '(set -l exts \'yaml\' \'yml\' \'json\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore materialize" o output' -s 'o' -l 'output' -d 'Write the state to this file instead of the branch\'s state.' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'db\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore materialize" json' -l 'json' -d 'Print the report as JSON.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore materialize" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore materialize" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore fsck" schema' -l 'schema' -d 'Check against this schema file instead of the store\'s.' -rfa '(set -l exts \'yaml\' \'yml\' \'json\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore fsck" replay' -l 'replay' -d 'Also rebuild state from scratch and compare every table with the store\'s state.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore fsck" json' -l 'json' -d 'One JSON object per finding ({code, severity, subject, message}), then a summary object.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore fsck" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore fsck" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore repair" dry-run' -l 'dry-run' -d 'Print the plan; change nothing.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore repair" force' -l 'force' -d 'Also rewrite events the backend has confirmed, when the plan needs to.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore repair" restore' -l 'restore' -d 'Put back the files of a backup a repair wrote, byte for byte.' -rfa '(__lstore_complete_directories)'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore repair" json' -l 'json' -d 'One JSON object per action, then a summary object.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore repair" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore repair" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore replay" schema' -l 'schema' -d 'Replay with this schema file (default: the store\'s; needed with --eventlog).' -rfa '(set -l exts \'yaml\' \'yml\' \'json\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore replay" against' -l 'against' -d 'Compare the replayed state with this state file.' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'db\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore replay" sample' -l 'sample' -d 'Keep this many failures per event name and rows of each kind per table.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore replay" json' -l 'json' -d 'Print the report as one JSON object.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore replay" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore replay" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore convert" format' -l 'format' -d 'The storage format to convert to: 4 (LiveStore 0.3) or 6 (LiveStore 0.4).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore convert" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore convert" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore export" o output' -s 'o' -l 'output' -d 'Write to this file (written whole, then renamed into place).' -rF
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore export" gzip' -l 'gzip' -d 'Compress with gzip.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore export" from' -l 'from' -d 'Start at this event or revision (e5, a commit, HEAD~2), inclusive.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore export" to' -l 'to' -d 'Stop at this event or revision, inclusive.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore export" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore export" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore import" -eq 1' -F
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore import" json' -l 'json' -d 'Print the report as JSON.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore import" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore import" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore remote" -eq 1' -fa 'add' -d 'Add a remote.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore remote" -eq 1' -fa 'remove' -d 'Remove a remote.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore remote" -eq 1' -fa 'list' -d 'List remotes (the default is marked *).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore remote" -eq 1' -fa 'set-default' -d 'Make a remote the default.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote add" store-id' -l 'store-id' -d 'The storeId on that backend (default: this store\'s).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote add" default' -l 'default' -d 'Make it the default remote.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote add" protocol' -l 'protocol' -d 'livestore-0.3 or livestore-0.4 (default: asked of the backend now, else on first use).' -rfka 'livestore-0.3 livestore-0.4'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote add" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote add" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore remote remove" -eq 1' -fka '(__lstore_custom_completion ---completion remote remove -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote remove" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote remove" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote list" json' -l 'json' -d 'One JSON object per remote.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote list" v verbose' -s 'v' -l 'verbose' -d 'Show each remote\'s sync protocol.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote list" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore remote set-default" -eq 1' -fka '(__lstore_custom_completion ---completion remote set-default -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote set-default" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore remote set-default" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore push" -eq 1' -fka '(__lstore_custom_completion ---completion push -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore push" store-id' -l 'store-id' -d 'The storeId on the backend (default: the remote\'s, else this store\'s).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore push" protocol' -l 'protocol' -d 'The sync protocol: livestore-0.3 or livestore-0.4 (default: the remote\'s, else detected).' -rfka 'livestore-0.3 livestore-0.4'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore push" auth-token' -l 'auth-token' -d 'Sent as the connect payload {"authToken": …}. Prefer LSTORE_AUTH_TOKEN or --auth-file: command lines are visible to other users.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore push" auth-file' -l 'auth-file' -d 'A file holding the token, or a JSON object used as the whole connect payload.' -rF
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore push" -eq 2' -fka '(__lstore_custom_completion ---completion push -- positional@1 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore push" d delete' -s 'd' -l 'delete' -d 'Take <branch> off the remote\'s branch list instead of pushing.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore push" json' -l 'json' -d 'Print the result as JSON.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore push" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore push" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_positional "lstore pull" -eq 1' -fka '(__lstore_custom_completion ---completion pull -- positional@0 (count (__lstore_tokens -pc)) (__lstore_tokens -tC))'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore pull" store-id' -l 'store-id' -d 'The storeId on the backend (default: the remote\'s, else this store\'s).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore pull" protocol' -l 'protocol' -d 'The sync protocol: livestore-0.3 or livestore-0.4 (default: the remote\'s, else detected).' -rfka 'livestore-0.3 livestore-0.4'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore pull" auth-token' -l 'auth-token' -d 'Sent as the connect payload {"authToken": …}. Prefer LSTORE_AUTH_TOKEN or --auth-file: command lines are visible to other users.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore pull" auth-file' -l 'auth-file' -d 'A file holding the token, or a JSON object used as the whole connect payload.' -rF
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore pull" follow' -l 'follow' -d 'Stay connected and apply live updates until interrupted (Ctrl-C).'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore pull" adopt-backend' -l 'adopt-backend' -d 'Sync with a backend whose id differs from the one this store knows (it was reset or replaced), or a store used as a remote that rewrote its history: keeps every event, makes them pending again (on a branch other than main: forgets what the branch\'s remote store held, so the next push sends the branch whole), then pulls.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore pull" json' -l 'json' -d 'Print the result as JSON.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore pull" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore pull" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" host' -l 'host' -d 'The address to listen on.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" port' -l 'port' -d 'The port to listen on (0 picks a free one; the log says which).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" data' -l 'data' -d 'The backend\'s directory; the database is <dir>/backend.db.' -rfa '(__lstore_complete_directories)'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" database' -l 'database' -d 'Keep the stores in this PostgreSQL database instead of <dir>/backend.db, so several servers can share them (postgres://user[:password]@host[:port]/db[?sslmode=…]; env LSTORE_DATABASE_URL).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" auth-token' -l 'auth-token' -d 'Require this token as the connect payload\'s authToken (env LSTORE_AUTH_TOKEN).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" jwt-secret' -l 'jwt-secret' -d 'Require an HS256 JWT with an exp claim signed with this secret, at least 32 bytes (env LSTORE_JWT_SECRET).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" admin-secret' -l 'admin-secret' -d 'Allow the admin reset/info messages with this secret (env LSTORE_ADMIN_SECRET); without it they are refused.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" log-level' -l 'log-level' -d 'trace, debug, info, notice, warning, error or critical.' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" max-connections' -l 'max-connections' -d 'Hold at most this many connections open; more are closed as they are accepted (default: the open-file limit less 64).' -rfka ''
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" version' -l 'version' -d 'Show the version.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'lstore' -n '__lstore_should_offer_completions_for_flags_or_options "lstore help" version' -l 'version' -d 'Show the version.'
