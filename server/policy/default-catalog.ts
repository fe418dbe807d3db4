/**
 * The built-in application catalog. Ids are IANA service names (the "Service Name" column of the IANA
 * Service Name and Transport Protocol Port Number Registry) where one exists, so `ssh`, `domain`,
 * `ms-wbt-server` mean what the registry says. Services IANA does not name for the port they really
 * use (Prometheus node exporter on 9100, Kafka, Kubernetes API, WireGuard) get their common name and a
 * note. Policy `apps:` entries extend this catalog or override an entry with the same id.
 */

export interface CatalogEntry {
  /** Port specs, as in policy files: `tcp/5432`, `udp/161-162`. */
  readonly ports: readonly string[];
  readonly description: string;
}

export const DEFAULT_CATALOG: Readonly<Record<string, CatalogEntry>> = {
  ftp: { ports: ['tcp/21'], description: 'File Transfer Protocol (control)' },
  ssh: { ports: ['tcp/22'], description: 'Secure Shell' },
  telnet: { ports: ['tcp/23'], description: 'Telnet (cleartext; usually denied)' },
  smtp: { ports: ['tcp/25'], description: 'Simple Mail Transfer Protocol' },
  domain: { ports: ['tcp/53', 'udp/53'], description: 'Domain Name System' },
  bootps: { ports: ['udp/67'], description: 'DHCP / BOOTP server' },
  tftp: { ports: ['udp/69'], description: 'Trivial File Transfer Protocol' },
  http: { ports: ['tcp/80'], description: 'HTTP' },
  kerberos: { ports: ['tcp/88', 'udp/88'], description: 'Kerberos KDC' },
  pop3: { ports: ['tcp/110'], description: 'Post Office Protocol v3' },
  sunrpc: { ports: ['tcp/111', 'udp/111'], description: 'ONC RPC portmapper' },
  ntp: { ports: ['udp/123'], description: 'Network Time Protocol' },
  imap: { ports: ['tcp/143'], description: 'Internet Message Access Protocol' },
  snmp: { ports: ['udp/161'], description: 'SNMP agent' },
  snmptrap: { ports: ['udp/162'], description: 'SNMP traps' },
  bgp: { ports: ['tcp/179'], description: 'Border Gateway Protocol' },
  ldap: { ports: ['tcp/389'], description: 'LDAP' },
  https: { ports: ['tcp/443'], description: 'HTTP over TLS' },
  'microsoft-ds': { ports: ['tcp/445'], description: 'SMB over TCP' },
  isakmp: { ports: ['udp/500'], description: 'IKE (IPsec key exchange)' },
  syslog: { ports: ['udp/514'], description: 'Syslog' },
  submission: { ports: ['tcp/587'], description: 'Mail submission' },
  ipp: { ports: ['tcp/631'], description: 'Internet Printing Protocol' },
  ldaps: { ports: ['tcp/636'], description: 'LDAP over TLS' },
  'domain-s': { ports: ['tcp/853'], description: 'DNS over TLS' },
  rsync: { ports: ['tcp/873'], description: 'rsync daemon' },
  imaps: { ports: ['tcp/993'], description: 'IMAP over TLS' },
  pop3s: { ports: ['tcp/995'], description: 'POP3 over TLS' },
  openvpn: { ports: ['udp/1194'], description: 'OpenVPN' },
  'ms-sql-s': { ports: ['tcp/1433'], description: 'Microsoft SQL Server' },
  radius: { ports: ['udp/1812'], description: 'RADIUS authentication' },
  'radius-acct': { ports: ['udp/1813'], description: 'RADIUS accounting' },
  mqtt: { ports: ['tcp/1883'], description: 'MQTT' },
  nfs: { ports: ['tcp/2049', 'udp/2049'], description: 'Network File System' },
  zookeeper: { ports: ['tcp/2181'], description: 'Apache ZooKeeper clients (IANA: eforward)' },
  'etcd-client': { ports: ['tcp/2379'], description: 'etcd client API' },
  'etcd-server': { ports: ['tcp/2380'], description: 'etcd peer traffic' },
  mysql: { ports: ['tcp/3306'], description: 'MySQL / MariaDB' },
  'ms-wbt-server': { ports: ['tcp/3389'], description: 'Remote Desktop Protocol' },
  'ipsec-nat-t': { ports: ['udp/4500'], description: 'IPsec NAT traversal' },
  vxlan: { ports: ['udp/4789'], description: 'VXLAN' },
  sip: { ports: ['tcp/5060', 'udp/5060'], description: 'Session Initiation Protocol' },
  sips: { ports: ['tcp/5061'], description: 'SIP over TLS' },
  'xmpp-client': { ports: ['tcp/5222'], description: 'XMPP client connections' },
  postgresql: { ports: ['tcp/5432'], description: 'PostgreSQL' },
  amqp: { ports: ['tcp/5672'], description: 'AMQP (RabbitMQ)' },
  redis: { ports: ['tcp/6379'], description: 'Redis' },
  'kubernetes-api': { ports: ['tcp/6443'], description: 'Kubernetes API server (IANA: sun-sr-https)' },
  'http-alt': { ports: ['tcp/8080'], description: 'HTTP alternate' },
  'secure-mqtt': { ports: ['tcp/8883'], description: 'MQTT over TLS' },
  prometheus: { ports: ['tcp/9090'], description: 'Prometheus server (IANA: websm)' },
  kafka: { ports: ['tcp/9092'], description: 'Apache Kafka brokers (not IANA-registered)' },
  'node-exporter': { ports: ['tcp/9100'], description: 'Prometheus node exporter (IANA: pdl-datastream)' },
  elasticsearch: { ports: ['tcp/9200'], description: 'Elasticsearch HTTP API (not IANA-registered)' },
  git: { ports: ['tcp/9418'], description: 'Git protocol' },
  memcache: { ports: ['tcp/11211'], description: 'Memcached' },
  mongodb: { ports: ['tcp/27017'], description: 'MongoDB' },
  wireguard: { ports: ['udp/51820'], description: 'WireGuard (not IANA-registered)' },
};
