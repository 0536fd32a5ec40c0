#!/usr/bin/env bash
# The README's "Write your own plugin from the template", run as a new user would from a fresh clone: install the
# artifacts a plugin builds against, generate a killer plugin from memgov-plugin-archetype outside the project, build
# it there (its contract tests run), drop its plugin folder into a plugins/ directory, and compare it with a bundled
# killer in the lab. Every Maven call uses a private, empty local repository, so everything comes from Maven Central
# and the shared ~/.m2 is neither read nor written.
#
#   .ci/fresh-clone-check.sh [WORK_DIR]     (default: a new temporary directory, removed afterwards)
#
# Needs network (Maven Central) and the lab jar (lab/target/memgov-lab.jar, built by the README's main command; built
# here, into the same private repository, when it is missing). Not part of 'mvn verify'; .ci/run runs it after the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ $# -ge 1 ]]; then
  work="$(mkdir -p "$1" && cd "$1" && pwd)"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
repo="$work/m2-repository"
version="$(sed -n 's:^    <version>\(.*\)</version>$:\1:p' "$root/pom.xml" | head -n 1)"
policy=shortest-running-on-blocked-nodes
started=$SECONDS
step() { echo "fresh-clone check [$((SECONDS - started)) s]: $*"; }
mvn_() { mvn -B -q -Dmaven.repo.local="$repo" "$@"; }

step "1/5 install memgov $version (parent, BOM, SPI, engine, testing kit, archetype) into $repo"
(cd "$root" && mvn_ install -DskipTests -pl bom,spi,testing,archetypes/memgov-plugin-archetype -am)
if [[ ! -f "$root/lab/target/memgov-lab.jar" ]]; then
  step "    the lab jar is missing: building it"
  (cd "$root" && mvn_ package -DskipTests -pl lab -am)
fi

step "2/5 generate a killer plugin from the archetype, outside the project"
(cd "$work" && mvn_ org.apache.maven.plugins:maven-archetype-plugin:3.3.1:generate \
    -DarchetypeGroupId=io.memgov -DarchetypeArtifactId=memgov-plugin-archetype -DarchetypeVersion="$version" \
    -DgroupId=com.example -DartifactId=my-killer -Dversion=1.0-SNAPSHOT -Dpackage=com.example.killer)

step "3/5 build it there: its contract tests run, target/plugin/my-killer/ is written"
(cd "$work/my-killer" && mvn_ verify)
test -f "$work/my-killer/target/plugin/my-killer/my-killer-1.0-SNAPSHOT.jar"
if ls "$work/my-killer/target/plugin/my-killer" | grep -q '^memgov-spi'; then
  echo "fresh-clone check: the plugin folder holds memgov-spi; the engine provides it" >&2
  exit 1
fi

step "4/5 drop it into plugins/"
mkdir -p "$work/lab/plugins"
cp -r "$work/my-killer/target/plugin/my-killer" "$work/lab/plugins/"
(cd "$work/lab" && java -jar "$root/lab/target/memgov-lab.jar" plugins) > "$work/plugins.txt"
grep -q "$policy" "$work/plugins.txt" || { cat "$work/plugins.txt"; echo "fresh-clone check: the lab does not list '$policy'" >&2; exit 1; }

step "5/5 select it and compare it with total-reservation"
(cd "$work/lab" && java -jar "$root/lab/target/memgov-lab.jar" compare --workload "$root/etc/workloads/oversubscribed.yaml" \
    --set "query.low-memory-killer.policy=total-reservation,$policy") | tee "$work/compare.txt"
grep -q "$policy" "$work/compare.txt" || { echo "fresh-clone check: compare did not run '$policy'" >&2; exit 1; }

step "passed: installed, generated, built outside the project, loaded from plugins/ and compared ($(du -sh "$repo" | cut -f1) downloaded from Maven Central)"
