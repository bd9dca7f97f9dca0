# The two commands of README.md, and a few conveniences.  Everything real
# is in scripts/; each target installs what it needs first.
.PHONY: demo test build deps kernel clean

demo:
	@bash scripts/demo.sh

test:
	@bash scripts/test.sh

deps:
	@bash scripts/deps.sh

build: deps
	@bash scripts/build.sh build

kernel: deps
	@kernel/build.sh

clean:
	rm -rf build build-asan build-static build-vm build-logs
