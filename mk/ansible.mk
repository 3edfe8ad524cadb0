# Ansible: lint and the Molecule scenarios of the core roles (see docs/ansible.md).

LINT_TARGETS += lint-ansible
MOLECULE_SCENARIOS += stack-core

.PHONY: lint-ansible

lint-ansible: setup ## ansible-lint (production profile, offline) over ansible/ roles and playbooks
	cd ansible && $(CURDIR)/$(VENV)/bin/ansible-lint --offline --profile production
