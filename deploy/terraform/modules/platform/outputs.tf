# The deploy workflow's GitHub environment variables (docs/operations.md, "Deploying").
output "deploy_role_arn" {
  value = module.ci.deploy_role_arn
}

output "repository_url" {
  value = module.ci.repository_url
}

output "cluster_name" {
  value = module.ecs.cluster_name
}

output "service_names" {
  value = module.ecs.service_names
}

output "migrate_task_definition" {
  value = module.ecs.migrate_task_definition
}

output "task_subnet_ids" {
  value = module.ecs.private_subnet_ids
}

output "task_security_group_id" {
  value = module.ecs.task_security_group_id
}

output "load_balancer_dns_name" {
  value = module.ecs.load_balancer_dns_name
}

output "bastion_public_ip" {
  value = module.bastion.public_ip
}
