output "deploy_role_arn" {
  value = module.platform.deploy_role_arn
}

output "repository_url" {
  value = module.platform.repository_url
}

output "cluster_name" {
  value = module.platform.cluster_name
}

output "service_names" {
  value = module.platform.service_names
}

output "migrate_task_definition" {
  value = module.platform.migrate_task_definition
}

output "task_subnet_ids" {
  value = module.platform.task_subnet_ids
}

output "task_security_group_id" {
  value = module.platform.task_security_group_id
}

output "load_balancer_dns_name" {
  value = module.platform.load_balancer_dns_name
}
