# The two commands of README.md, and a few conveniences.  Everything real
# is in scripts/; each target installs what it needs first.
.PHONY: demo test build deps kernel deb clean campaigns crashstates powercut soak jumps

demo:
	@bash scripts/demo.sh

test:
	@bash scripts/test.sh

# The reliability campaigns (README.md, "Campaigns"): each prints its figures.
campaigns:
	@bash scripts/campaign.sh all

crashstates:
	@bash scripts/campaign.sh crashstates

powercut:
	@bash scripts/campaign.sh powercut-writer && bash scripts/campaign.sh powercut-resume

soak:
	@bash scripts/campaign.sh soak

jumps:
	@bash scripts/campaign.sh jumps

deps:
	@bash scripts/deps.sh

build: deps
	@bash scripts/build.sh build

kernel: deps
	@kernel/build.sh

# The Debian package: build-deb/khib_VERSION_amd64.deb (scripts/deb.sh).
deb:
	@bash scripts/deb.sh

clean:
	rm -rf build build-asan build-static build-vm build-logs build-deb
