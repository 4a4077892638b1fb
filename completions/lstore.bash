#!/bin/bash

__lstore_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__lstore_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__lstore_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__lstore_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_lstore() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(-q --quiet --version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=(-C --eventlog --color)
    __lstore_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-C')
        __lstore_add_completions -d
        return
        ;;
    '--eventlog')
        __lstore_add_completions -o plusdirs -fX '!*.@(db)'
        return
        ;;
    '--color')
        __lstore_add_completions -W 'auto'$'\n''always'$'\n''never'
        return
        ;;
    esac

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    init|config|commit|log|show|status|sql|diff|blame|branch|switch|rebase|cherry-pick|revert|reset|reflog|materialize|fsck|repair|replay|convert|export|import|remote|push|pull|serve|help)
        # Offer subcommand argument completions
        "_lstore_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'init config commit log show status sql diff blame branch switch rebase cherry-pick revert reset reflog materialize fsck repair replay convert export import remote push pull serve help' -- "${cur}"))
        ;;
    esac
}

_lstore_init() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--schema --store-id --client-id --session-id --format)
    __lstore_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--schema')
        __lstore_add_completions -o plusdirs -fX '!*.@(yaml|yml|json)'
        return
        ;;
    '--store-id')
        return
        ;;
    '--client-id')
        return
        ;;
    '--session-id')
        return
        ;;
    '--format')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -d
        return
        ;;
    esac
}

_lstore_config() {
    repeating_flags=()
    non_repeating_flags=(--unset --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 2
}

_lstore_commit() {
    repeating_flags=()
    non_repeating_flags=(--amend --json --version -h --help)
    repeating_options=(-f --file)
    non_repeating_options=(-m --message)
    __lstore_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '-m'|'--message')
        return
        ;;
    '-f'|'--file')
        __lstore_add_completions -o plusdirs -fX '!*.@(ndjson|jsonl)'
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion commit -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_log() {
    repeating_flags=()
    non_repeating_flags=(--oneline --events --json --reverse --graph --all --version -h --help)
    repeating_options=(--name)
    non_repeating_options=(--client --session --from --to -n --max-count)
    __lstore_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--name')
        return
        ;;
    '--client')
        return
        ;;
    '--session')
        return
        ;;
    '--from')
        return
        ;;
    '--to')
        return
        ;;
    '-n'|'--max-count')
        return
        ;;
    esac
}

_lstore_show() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 1
}

_lstore_status() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 0
}

_lstore_sql() {
    repeating_flags=()
    non_repeating_flags=(--json --csv --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 1
}

_lstore_diff() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--table --schema)
    __lstore_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--table')
        return
        ;;
    '--schema')
        __lstore_add_completions -o plusdirs -fX '!*.@(yaml|yml|json)'
        return
        ;;
    esac
}

_lstore_blame() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--schema)
    __lstore_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--schema')
        __lstore_add_completions -o plusdirs -fX '!*.@(yaml|yml|json)'
        return
        ;;
    esac
}

_lstore_branch() {
    repeating_flags=()
    non_repeating_flags=(-d --delete -D -m --move -r --remotes --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--at)
    __lstore_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--at')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion branch -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    2)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion branch -- positional@1 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_switch() {
    repeating_flags=()
    non_repeating_flags=(-c --create --version -h --help)
    repeating_options=()
    non_repeating_options=(--store-id --protocol --auth-token --auth-file)
    __lstore_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--store-id')
        return
        ;;
    '--protocol')
        __lstore_add_completions -W 'livestore-0.3'$'\n''livestore-0.4'
        return
        ;;
    '--auth-token')
        return
        ;;
    '--auth-file')
        __lstore_add_completions -f
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion switch -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    2)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion switch -- positional@1 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_rebase() {
    repeating_flags=()
    non_repeating_flags=(-i --interactive --dry-run --continue --skip --abort --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--plan --strategy)
    __lstore_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--plan')
        __lstore_add_completions -f
        return
        ;;
    '--strategy')
        __lstore_add_completions -W 'stop'$'\n''ours'$'\n''theirs'$'\n''replay'
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion rebase -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_cherry-pick() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options -1

    # Offer positional completions
    case "${positional_number}" in
    *)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion cherry-pick -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_revert() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 1

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion revert -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_reset() {
    repeating_flags=()
    non_repeating_flags=(--hard --soft --json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 1

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion reset -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_reflog() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(-n --max-count)
    __lstore_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-n'|'--max-count')
        return
        ;;
    esac
}

_lstore_materialize() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--until --schema -o --output)
    __lstore_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--until')
        return
        ;;
    '--schema')
        __lstore_add_completions -o plusdirs -fX '!*.@(yaml|yml|json)'
        return
        ;;
    '-o'|'--output')
        __lstore_add_completions -o plusdirs -fX '!*.@(db)'
        return
        ;;
    esac
}

_lstore_fsck() {
    repeating_flags=()
    non_repeating_flags=(--replay --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--schema)
    __lstore_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--schema')
        __lstore_add_completions -o plusdirs -fX '!*.@(yaml|yml|json)'
        return
        ;;
    esac
}

_lstore_repair() {
    repeating_flags=()
    non_repeating_flags=(--dry-run --force --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--restore)
    __lstore_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--restore')
        __lstore_add_completions -d
        return
        ;;
    esac
}

_lstore_replay() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--schema --against --sample)
    __lstore_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--schema')
        __lstore_add_completions -o plusdirs -fX '!*.@(yaml|yml|json)'
        return
        ;;
    '--against')
        __lstore_add_completions -o plusdirs -fX '!*.@(db)'
        return
        ;;
    '--sample')
        return
        ;;
    esac
}

_lstore_convert() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--format)
    __lstore_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--format')
        return
        ;;
    esac
}

_lstore_export() {
    repeating_flags=()
    non_repeating_flags=(--gzip --version -h --help)
    repeating_options=()
    non_repeating_options=(-o --output --from --to)
    __lstore_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-o'|'--output')
        __lstore_add_completions -f
        return
        ;;
    '--from')
        return
        ;;
    '--to')
        return
        ;;
    esac
}

_lstore_import() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 1

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -f
        return
        ;;
    esac
}

_lstore_remote() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    add|remove|list|set-default)
        # Offer subcommand argument completions
        "_lstore_remote_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'add remove list set-default' -- "${cur}"))
        ;;
    esac
}

_lstore_remote_add() {
    repeating_flags=()
    non_repeating_flags=(--default --version -h --help)
    repeating_options=()
    non_repeating_options=(--store-id --protocol)
    __lstore_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--store-id')
        return
        ;;
    '--protocol')
        __lstore_add_completions -W 'livestore-0.3'$'\n''livestore-0.4'
        return
        ;;
    esac
}

_lstore_remote_remove() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 1

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion remote remove -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_remote_list() {
    repeating_flags=()
    non_repeating_flags=(--json -v --verbose --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 0
}

_lstore_remote_set-default() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options 1

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion remote set-default -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_push() {
    repeating_flags=()
    non_repeating_flags=(-d --delete --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--store-id --protocol --auth-token --auth-file)
    __lstore_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--store-id')
        return
        ;;
    '--protocol')
        __lstore_add_completions -W 'livestore-0.3'$'\n''livestore-0.4'
        return
        ;;
    '--auth-token')
        return
        ;;
    '--auth-file')
        __lstore_add_completions -f
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion push -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    2)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion push -- positional@1 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_pull() {
    repeating_flags=()
    non_repeating_flags=(--follow --adopt-backend --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--store-id --protocol --auth-token --auth-file)
    __lstore_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--store-id')
        return
        ;;
    '--protocol')
        __lstore_add_completions -W 'livestore-0.3'$'\n''livestore-0.4'
        return
        ;;
    '--auth-token')
        return
        ;;
    '--auth-file')
        __lstore_add_completions -f
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __lstore_add_completions -W "$(__lstore_custom_complete ---completion pull -- positional@0 "${COMP_CWORD}" "$(__lstore_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_lstore_serve() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--host --port --data --database --auth-token --jwt-secret --admin-secret --log-level --max-connections)
    __lstore_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--host')
        return
        ;;
    '--port')
        return
        ;;
    '--data')
        __lstore_add_completions -d
        return
        ;;
    '--database')
        return
        ;;
    '--auth-token')
        return
        ;;
    '--jwt-secret')
        return
        ;;
    '--admin-secret')
        return
        ;;
    '--log-level')
        return
        ;;
    '--max-connections')
        return
        ;;
    esac
}

_lstore_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __lstore_offer_flags_options -1
}

complete -o filenames -F _lstore lstore
