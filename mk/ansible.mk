# Ansible: lint and the Molecule scenarios of the core roles (see docs/ansible.md).

LINT_TARGETS += lint-ansible
# stack-core (the core roles alone) stays runnable (make test-molecule SCENARIOS=stack-core); in
# make test its checks run inside the tier scenarios (mk/tiers.mk), which converge the same roles.

.PHONY: lint-ansible

lint-ansible: setup ## ansible-lint (production profile, offline) over ansible/ roles and playbooks
	cd ansible && $(CURDIR)/$(VENV)/bin/ansible-lint --offline --profile production
