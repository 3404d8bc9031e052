#!/usr/bin/env bash
# Helpers for the okta365 GitHub workflow (okta365.yml), one subcommand each.
# They use the GitHub CLI (`gh`, on every GitHub-hosted runner) with GH_TOKEN.
#
#   comment PR FILE           one plan comment per pull request, edited in place
#   reviewed-plan DIR         download the plan reviewed on the merged pull request
#   apply PLAN FOUND          apply it; ask for a re-plan when it is stale or missing
#   summary FILE              add a plan to the job summary
#   drift CODE FILE           open, update or close the drift issue
set -euo pipefail
export LC_ALL=C.UTF-8

repo="${GITHUB_REPOSITORY:?run this in GitHub Actions (GITHUB_REPOSITORY is not set)}"
run_url="${GITHUB_SERVER_URL:-https://github.com}/$repo/actions/runs/${GITHUB_RUN_ID:-0}"
marker='<!-- okta365-plan -->'
# GitHub refuses comment, issue and summary bodies over 65,536 characters.
limit=65536

# fit FILE: writes FILE to stdout, cut to fit under the limit with a pointer
# to the full plan (the run's artifacts) when it is longer.
fit() {
  local chars note keep
  chars=$(wc -m < "$1")
  if [ "$chars" -le "$limit" ]; then
    cat "$1"
    return
  fi
  note="… cut at ${limit} characters: the plan has ${chars}. The full plan (JSON and Markdown) is in the artifacts of ${run_url}"
  keep=$((limit - ${#note} - 64))
  # head counts bytes, at least one per character; iconv drops a character cut in half.
  head -c "$keep" "$1" | iconv -f UTF-8 -t UTF-8 -c > "$1.cut" || true
  cat "$1.cut"
  # Close a code block left open by the cut.
  if [ $(( $(grep -c '^```' "$1.cut" || true) % 2 )) -eq 1 ]; then
    printf '\n```\n'
  fi
  printf '\n\n%s\n' "$note"
  rm -f "$1.cut"
}

output() {
  echo "$1" >> "${GITHUB_OUTPUT:-/dev/null}"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  comment)
    pr="${1:?usage: comment PR FILE}"
    body=$(mktemp)
    { echo "$marker"; cat "${2:?usage: comment PR FILE}"; } > "$body.in"
    fit "$body.in" > "$body"
    id=$(gh api "repos/$repo/issues/$pr/comments" --paginate \
      --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)
    if [ -n "$id" ]; then
      gh api -X PATCH "repos/$repo/issues/comments/$id" -F "body=@$body" > /dev/null
      echo "Updated the plan comment ($id) on #$pr."
    else
      gh api -X POST "repos/$repo/issues/$pr/comments" -F "body=@$body" > /dev/null
      echo "Commented the plan on #$pr."
    fi
    ;;

  reviewed-plan)
    dir="${1:?usage: reviewed-plan DIR}"
    sha="${GITHUB_SHA:?}"
    head=$(gh api "repos/$repo/commits/$sha/pulls" \
      --jq '[.[] | select(.merged_at != null)][0].head.sha // empty')
    if [ -z "$head" ]; then
      echo "::warning::commit $sha came from no merged pull request, so no plan was reviewed for it"
      output found=false
      exit 0
    fi
    name="okta365-plan-$head"
    run=$(gh api "repos/$repo/actions/artifacts?name=$name" \
      --jq '[.artifacts[] | select(.expired == false)][0].workflow_run.id // empty')
    if [ -z "$run" ]; then
      echo "::warning::no plan artifact $name: the pull request's plan failed, or its artifact expired"
      output found=false
      exit 0
    fi
    gh run download "$run" --repo "$repo" --name "$name" --dir "$dir"
    echo "Downloaded the plan reviewed for $head (run $run)."
    output found=true
    ;;

  apply)
    plan="${1:?usage: apply PLAN FOUND}"
    if [ "${2:-}" != "true" ]; then
      echo "::warning::nothing reviewed to apply: a fresh plan waits for approval (job apply-replanned)"
      output replan=true
      exit 0
    fi
    set +e
    okta365 --error-format github apply "$plan" 2> apply.err
    code=$?
    set -e
    cat apply.err >&2
    if [ "$code" -eq 0 ]; then
      output replan=false
    elif grep -q "is stale" apply.err; then
      echo "::warning::the reviewed plan is stale (Okta, Office 365 or the policies changed since the review); nothing was applied, and a fresh plan waits for approval"
      output replan=true
    else
      exit "$code"
    fi
    ;;

  summary)
    fit "${1:?usage: summary FILE}" >> "${GITHUB_STEP_SUMMARY:-/dev/stdout}"
    ;;

  drift)
    code="${1:?usage: drift CODE FILE}"
    file="${2:?usage: drift CODE FILE}"
    label=okta365-drift
    title="okta365: Office 365 has drifted from the policies"
    open=$(gh issue list --repo "$repo" --label "$label" --state open --json number --jq '.[0].number // empty')
    case "$code" in
      0)
        if [ -n "$open" ]; then
          gh issue close "$open" --repo "$repo" --comment "No drift any more: Office 365 matches the policies ($run_url)."
          echo "Closed drift issue #$open."
        else
          echo "No drift."
        fi
        ;;
      2)
        body=$(mktemp)
        { echo "The scheduled plan found changes that no merged pull request explains: someone changed Office 365 or Okta by hand, or a change is waiting to be applied. Latest run: $run_url"; echo; cat "$file"; } > "$body.in"
        fit "$body.in" > "$body"
        if [ -z "$open" ]; then
          gh label create "$label" --repo "$repo" --color D93F0B --description "okta365 found drift" --force > /dev/null
          gh issue create --repo "$repo" --title "$title" --label "$label" --body-file "$body"
        elif [ "$(gh issue view "$open" --repo "$repo" --json body --jq .body | sed 1d)" != "$(sed 1d "$body")" ]; then
          gh issue edit "$open" --repo "$repo" --body-file "$body" > /dev/null
          gh issue comment "$open" --repo "$repo" --body "The drift changed; the description shows the latest plan ($run_url)."
          echo "Updated drift issue #$open."
        else
          echo "Drift issue #$open already shows this plan."
        fi
        ;;
      *)
        echo "::error::the drift plan failed (exit $code); nothing was opened or closed"
        exit 1
        ;;
    esac
    ;;

  *)
    echo "usage: okta365-github.sh comment|reviewed-plan|apply|summary|drift …" >&2
    exit 2
    ;;
esac
