# bash completion for qscope, generated from the option table in app/cli.c
# (regenerate: qscope's hidden "completion" option).
_qscope()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmd=tui opts i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		tui | report | quantize | inspect | merge | demo)
			cmd=${COMP_WORDS[i]}
			break ;;
		esac
	done
	case $prev in
	--qtype)
		COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" --list-qtypes 2>/dev/null)" -- "$cur"))
		return ;;
	--bits)
		COMPREPLY=($(compgen -W "2 3 4 5 6 7 8 12 16" -- "$cur"))
		return ;;
	--scheme)
		COMPREPLY=($(compgen -W "sym asym" -- "$cur"))
		return ;;
	--granularity)
		COMPREPLY=($(compgen -W "tensor channel group:32 group:128" -- "$cur"))
		return ;;
	--method)
		COMPREPLY=($(compgen -W "minmax percentile:99.9 mse aciq aciq-laplace aciq-gauss kl" -- "$cur"))
		return ;;
	--rounding)
		COMPREPLY=($(compgen -W "even away" -- "$cur"))
		return ;;
	--scale-floor)
		return ;;
	--axis)
		return ;;
	--recipe)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--select)
		return ;;
	--exclude)
		return ;;
	--jobs | -j)
		return ;;
	--shard)
		return ;;
	--csv)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--channels-csv)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--format)
		COMPREPLY=($(compgen -W "table csv json" -- "$cur"))
		return ;;
	--fail-below-sqnr)
		return ;;
	--save-recipe)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--output | -o)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--to)
		COMPREPLY=($(compgen -W "onnx gguf safetensors npy npz tflite" -- "$cur"))
		return ;;
	--like)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	esac
	case $cmd in
	tui) opts="--help --version --qtype --bits --scheme --granularity --method --narrow-range --reduce-range --rounding --scale-floor --axis --recipe --select --exclude --jobs" ;;
	report) opts="--help --version --qtype --bits --scheme --granularity --method --narrow-range --reduce-range --rounding --scale-floor --axis --recipe --select --exclude --jobs --shard --csv --channels-csv --format --fail-below-sqnr --fail-on-risk --save-recipe --quiet" ;;
	quantize) opts="--help --version --qtype --bits --scheme --granularity --method --narrow-range --reduce-range --rounding --scale-floor --axis --recipe --select --exclude --jobs --quiet --output --to --fake-quant --like --external-data" ;;
	inspect) opts="--help --version --format" ;;
	merge) opts="--help --version --format --quiet --output" ;;
	demo) opts="--help --version --quiet" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "tui report quantize inspect merge demo" -- "$cur"))
	fi
	COMPREPLY+=($(compgen -f -- "$cur"))
}
complete -o filenames -F _qscope qscope
